// Shared by the Buildbarn configs in this directory. Every value that varies
// between runs comes from the environment (bb-storage's Jsonnet loader
// exposes each environment variable through std.extVar):
//   BB_DIR                    state directory (block files, build directory,
//                             runner socket); must exist, absolute
//   BB_STORAGE_PORT           bb_storage: clients' CAS, AC, Capabilities,
//                             Execute (forwarded to bb_scheduler)
//   BB_SCHEDULER_CLIENT_PORT  bb_scheduler: Execute from bb_storage
//   BB_SCHEDULER_WORKER_PORT  bb_scheduler: bb_worker's Synchronize
//   BB_WORKER_CONCURRENCY     actions the worker runs at once
// scripts/reapi-start.sh sets them all.
{
  dir: std.extVar('BB_DIR'),
  storagePort: std.extVar('BB_STORAGE_PORT'),
  schedulerClientPort: std.extVar('BB_SCHEDULER_CLIENT_PORT'),
  schedulerWorkerPort: std.extVar('BB_SCHEDULER_WORKER_PORT'),
  workerConcurrency: std.parseInt(std.extVar('BB_WORKER_CONCURRENCY')),

  local loopback(port) = '127.0.0.1:' + port,
  storageAddress: loopback(self.storagePort),
  schedulerClientAddress: loopback(self.schedulerClientPort),
  schedulerWorkerAddress: loopback(self.schedulerWorkerPort),

  // Worker and runner must agree on these paths.
  buildDirectory: self.dir + '/worker/build',
  runnerSocket: self.dir + '/worker/runner.sock',

  maximumMessageSizeBytes: 16 * 1024 * 1024,

  // A gRPC server on one TCP or UNIX socket address, no authentication.
  server(listenAddresses=[], listenPaths=[]):: {
    listenAddresses: listenAddresses,
    listenPaths: listenPaths,
    authenticationPolicy: { allow: {} },
    maximumReceivedMessageSizeBytes: $.maximumMessageSizeBytes,
  },

  // The worker advertises exactly these platform properties; an Execute
  // request must carry the same set (sorted by name) to be scheduled.
  platform: {
    properties: [
      { name: 'ISA', value: 'x86-64' },
      { name: 'OSFamily', value: 'Linux' },
    ],
  },
}
