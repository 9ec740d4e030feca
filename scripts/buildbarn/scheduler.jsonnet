// bb_scheduler: Execute from bb_storage on BB_SCHEDULER_CLIENT_PORT, workers
// on BB_SCHEDULER_WORKER_PORT; platform from the Action, else the Command.
// Schema: bb-remote-execution 2025-08 (pkg/proto/configuration/bb_scheduler).
local common = import 'common.libsonnet';
local allow = { allow: {} };

{
  global: {},
  clientGrpcServers: [common.server(listenAddresses=[common.schedulerClientAddress])],
  workerGrpcServers: [common.server(listenAddresses=[common.schedulerWorkerAddress])],
  browserUrl: 'http://127.0.0.1/',
  contentAddressableStorage: { grpc: { address: common.storageAddress } },
  maximumMessageSizeBytes: common.maximumMessageSizeBytes,
  executeAuthorizer: allow,
  modifyDrainsAuthorizer: allow,
  killOperationsAuthorizer: allow,
  synchronizeAuthorizer: allow,
  actionRouter: {
    simple: {
      platformKeyExtractor: { actionAndCommand: {} },
      invocationKeyExtractors: [{ correlatedInvocationsId: {} }, { toolInvocationId: {} }],
      initialSizeClassAnalyzer: {
        defaultExecutionTimeout: '1800s',
        maximumExecutionTimeout: '7200s',
      },
    },
  },
  // The worker's queue exists from the start, so that actions submitted
  // before bb_worker first synchronizes wait for it instead of failing with
  // UNAVAILABLE. Other platforms still fail at once.
  predeclaredPlatformQueues: [{
    instanceNamePrefix: '',
    platform: common.platform,
    sizeClasses: [0],
  }],
  platformQueueWithNoWorkersTimeout: '900s',
}
