// bb_runner: runs the worker's actions as the current user, unsandboxed (no
// chroot), in the build directory bb_worker populates; listens on a UNIX
// socket.
// Schema: bb-remote-execution 2025-08 (pkg/proto/configuration/bb_runner).
local common = import 'common.libsonnet';

{
  global: {},
  buildDirectoryPath: common.buildDirectory,
  grpcServers: [common.server(listenPaths=[common.runnerSocket])],
}
