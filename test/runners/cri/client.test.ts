// The CRI client's pure parts: endpoint forms, error mapping, the API description it loads. Talking to a
// real containerd is test/runners/cri.live.test.ts's job.

import { describe, it, expect } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';
import { connectCri, criError, socketPath, CriError } from '../../../src/runners/cri/client.js';
import { RunError } from '../../../src/runners/errors.js';

describe('socketPath', () => {
  it('reads unix:///abs and unix:/abs, nothing else', () => {
    expect(socketPath('unix:///run/containerd/containerd.sock')).toBe('/run/containerd/containerd.sock');
    expect(socketPath('unix:/run/x.sock')).toBe('/run/x.sock');
    expect(socketPath('/run/x.sock')).toBeNull();
    expect(socketPath('tcp://127.0.0.1:1234')).toBeNull();
    expect(socketPath('unix://relative.sock')).toBeNull();
  });
});

describe('criError', () => {
  it('keeps the runtime\'s message verbatim and maps the gRPC status to a RunError code', () => {
    const said = 'failed to get sandbox runtime: no runtime for "kata" is configured';
    const e = criError('RunPodSandbox', 'unix:///x.sock', { code: grpc.status.UNKNOWN, details: said });
    expect(e).toBeInstanceOf(RunError);
    expect(e).toBeInstanceOf(CriError);
    expect(e.details).toBe(said);
    expect(e.message).toBe(`CRI RunPodSandbox: ${said}`);
    expect(e.grpcCode).toBe('UNKNOWN');
    expect(e.code).toBe('RUNTIME_FAILED');
    expect(criError('Version', 'unix:///x.sock', { code: grpc.status.UNAVAILABLE, details: 'No connection established' }).code).toBe('NOT_AVAILABLE');
    expect(criError('Version', 'unix:///x.sock', { code: grpc.status.UNIMPLEMENTED, details: 'unknown service runtime.v1.RuntimeService' }).code).toBe('NOT_AVAILABLE');
    expect(criError('CreateContainer', 'unix:///x.sock', { code: grpc.status.INVALID_ARGUMENT, details: 'bad' }).code).toBe('BAD_REQUEST');
  });
});

describe('connectCri', () => {
  it('refuses an endpoint that is not a unix socket, and a socket that is not there, in one line each', async () => {
    const a = await connectCri('tcp://127.0.0.1:1').catch((e: unknown) => e);
    expect((a as RunError).code).toBe('BAD_REQUEST');
    const b = await connectCri('unix:///nonexistent/trace-compare.sock').catch((e: unknown) => e);
    expect((b as RunError).code).toBe('NOT_AVAILABLE');
    expect((b as RunError).message).toBe('no CRI runtime at unix:///nonexistent/trace-compare.sock: /nonexistent/trace-compare.sock does not exist');
  });
});

describe('api.proto', () => {
  it('describes runtime.v1 with the RPCs the client calls, under cri-api\'s field numbers', () => {
    const file = fileURLToPath(new URL('../../../src/runners/cri/api.proto', import.meta.url));
    const def = protoLoader.loadSync(file, { keepCase: true });
    const rt = def['runtime.v1.RuntimeService'] as protoLoader.ServiceDefinition;
    expect(Object.keys(rt).sort()).toEqual(['ContainerStatus', 'CreateContainer', 'ListContainers', 'ListPodSandbox', 'PodSandboxStatus',
      'RemoveContainer', 'RemovePodSandbox', 'RunPodSandbox', 'StartContainer', 'Status', 'StopContainer', 'StopPodSandbox', 'Version']);
    expect(Object.keys(def['runtime.v1.ImageService'] as protoLoader.ServiceDefinition).sort()).toEqual(['ImageStatus', 'ListImages']);
    const fields = (name: string) => Object.fromEntries(
      ((def[`runtime.v1.${name}`] as protoLoader.MessageTypeDefinition).type as { field: { name: string; number: number }[] }).field.map((f) => [f.name, f.number]),
    );
    // A few of the wire contract's numbers, as cri-api v0.25.0 has them.
    expect(fields('RunPodSandboxRequest')).toEqual({ config: 1, runtime_handler: 2 });
    expect(fields('NamespaceOption')).toMatchObject({ network: 1, pid: 2, ipc: 3, target_id: 4 });
    expect(fields('LinuxContainerSecurityContext')).toMatchObject({ capabilities: 1, privileged: 2, run_as_group: 12, no_new_privs: 11, masked_paths: 13, seccomp: 15 });
    expect(fields('ContainerStatus')).toMatchObject({ state: 3, exit_code: 7, reason: 10, log_path: 15 });
    expect(fields('ContainerConfig')).toMatchObject({ mounts: 7, log_path: 11, linux: 15 });
  });
});
