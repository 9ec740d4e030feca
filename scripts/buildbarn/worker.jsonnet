// bb_worker: one native build directory (no FUSE, no root), one runner
// (bb_runner over a UNIX socket) with BB_WORKER_CONCURRENCY slots,
// advertising exactly OSFamily=Linux and ISA=x86-64. Actions get only the
// Command's environment variables.
// Schema: bb-remote-execution 2025-08 (pkg/proto/configuration/bb_worker).
local common = import 'common.libsonnet';

{
  global: {},
  blobstore: {
    contentAddressableStorage: { grpc: { address: common.storageAddress } },
    actionCache: { grpc: { address: common.storageAddress } },
  },
  browserUrl: 'http://127.0.0.1/',
  maximumMessageSizeBytes: common.maximumMessageSizeBytes,
  scheduler: { address: common.schedulerWorkerAddress },
  filePool: {
    blockDevice: { file: { path: common.dir + '/worker/filepool', sizeBytes: 4 * 1024 * 1024 * 1024 } },
  },
  buildDirectories: [{
    native: {
      buildDirectoryPath: common.buildDirectory,
      cacheDirectoryPath: common.dir + '/worker/cache',
      maximumCacheFileCount: 10000,
      maximumCacheSizeBytes: 1024 * 1024 * 1024,
      cacheReplacementPolicy: 'LEAST_RECENTLY_USED',
    },
    runners: [{
      endpoint: { address: 'unix://' + common.runnerSocket },
      concurrency: common.workerConcurrency,
      platform: common.platform,
      workerId: { host: 'localhost' },
    }],
  }],
  outputUploadConcurrency: 11,
  inputDownloadConcurrency: 11,
  directoryCache: {
    maximumCount: 1000,
    maximumSizeBytes: 1000 * common.maximumMessageSizeBytes,
    cacheReplacementPolicy: 'LEAST_RECENTLY_USED',
  },
}
