// bb_storage as a cache only: the CAS and AC of storage.jsonnet with no
// scheduler behind it, so Execute is not offered.
(import 'storage.jsonnet') + { schedulers: {} }
