// bb_storage: local CAS and AC (sparse block files under $BB_DIR/storage),
// the AC wrapped in completenessChecking (an entry whose outputs are gone
// from the CAS is a miss), and the frontend forwarding Execute and
// WaitExecution for every instance name to bb_scheduler.
// Schema: bb-storage 2026-08 (pkg/proto/configuration/bb_storage).
local common = import 'common.libsonnet';
local allow = { allow: {} };

// A local store over one sparse file; totalBlocks blocks of
// sizeBytes / totalBlocks bytes each (the largest storable blob).
local localStore(name, sizeBytes, newBlocks) = {
  'local': {
    keyLocationMapOnBlockDevice: {
      file: { path: common.dir + '/storage/' + name + '-keys', sizeBytes: 64 * 1024 * 1024 },
    },
    keyLocationMapMaximumGetAttempts: 16,
    keyLocationMapMaximumPutAttempts: 64,
    oldBlocks: 8,
    currentBlocks: 24,
    newBlocks: newBlocks,
    blocksOnBlockDevice: {
      source: { file: { path: common.dir + '/storage/' + name + '-blocks', sizeBytes: sizeBytes } },
      spareBlocks: 3,
    },
    persistent: {
      stateDirectoryPath: common.dir + '/storage/' + name + '-state',
      minimumEpochInterval: '60s',
    },
  },
};

{
  global: {},
  grpcServers: [common.server(listenAddresses=[common.storageAddress])],
  maximumMessageSizeBytes: common.maximumMessageSizeBytes,
  contentAddressableStorage: {
    backend: localStore('cas', 8 * 1024 * 1024 * 1024, 3),
    getAuthorizer: allow,
    putAuthorizer: allow,
    findMissingAuthorizer: allow,
  },
  actionCache: {
    backend: {
      completenessChecking: {
        backend: localStore('ac', 256 * 1024 * 1024, 1),
        maximumTotalTreeSizeBytes: 64 * 1024 * 1024,
      },
    },
    getAuthorizer: allow,
    putAuthorizer: allow,
  },
  schedulers: {
    '': { endpoint: { address: common.schedulerClientAddress } },
  },
  executeAuthorizer: allow,
}
