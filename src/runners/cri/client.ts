// A CRI client: the kubelet's side of the Container Runtime Interface, spoken over gRPC to a runtime's
// socket (containerd's CRI plugin). The messages are those of ./api.proto (kubernetes/cri-api v0.25.0,
// runtime.v1); field names here are the proto's in camelCase (proto-loader's mapping: pod_sandbox_id ->
// podSandboxId), int64 fields come back as decimal strings (nanosecond times exceed 2^53), enums as
// their names ('SANDBOX_READY', 'NODE').
//
// Every failed call becomes a CriError (a RunError) whose `details` is the runtime's status message
// verbatim: what containerd says ("no runtime for \"kata\" is configured") is what the user reads.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
// gRPC is loaded by connectCri, not at start-up: every other command would pay for it.
import type * as Grpc from '@grpc/grpc-js';
import type * as ProtoLoader from '@grpc/proto-loader';
import { RunError, type RunErrorCode } from '../errors.js';

// ---- messages (the fields of api.proto; optional in requests, always present in responses) ----

export type NamespaceMode = 'POD' | 'CONTAINER' | 'NODE' | 'TARGET';
export type PodSandboxState = 'SANDBOX_READY' | 'SANDBOX_NOTREADY';
export type ContainerState = 'CONTAINER_CREATED' | 'CONTAINER_RUNNING' | 'CONTAINER_EXITED' | 'CONTAINER_UNKNOWN';
/** int64 in a request: a number or its decimal string. In a response always a string. */
export type Int64 = number | string;

export interface KeyValue { key: string; value: string }
export interface ImageSpec { image: string; annotations?: Record<string, string> }
export interface Int64Value { value: Int64 }
export interface NamespaceOption { network?: NamespaceMode; pid?: NamespaceMode; ipc?: NamespaceMode; targetId?: string }
export interface SecurityProfile { profileType: 'RuntimeDefault' | 'Unconfined' | 'Localhost'; localhostRef?: string }
export interface Capability { addCapabilities?: string[]; dropCapabilities?: string[]; addAmbientCapabilities?: string[] }
export interface Mount {
  containerPath: string;
  hostPath: string;
  readonly?: boolean;
  selinuxRelabel?: boolean;
  propagation?: 'PROPAGATION_PRIVATE' | 'PROPAGATION_HOST_TO_CONTAINER' | 'PROPAGATION_BIDIRECTIONAL';
}
export interface Device { containerPath: string; hostPath: string; permissions: string }

export interface LinuxContainerResources {
  cpuPeriod?: Int64;
  cpuQuota?: Int64;
  cpuShares?: Int64;
  memoryLimitInBytes?: Int64;
  oomScoreAdj?: Int64;
  cpusetCpus?: string;
  cpusetMems?: string;
  unified?: Record<string, string>;
  memorySwapLimitInBytes?: Int64;
}

export interface LinuxSandboxSecurityContext {
  namespaceOptions?: NamespaceOption;
  runAsUser?: Int64Value;
  runAsGroup?: Int64Value;
  readonlyRootfs?: boolean;
  supplementalGroups?: Int64[];
  privileged?: boolean;
  seccomp?: SecurityProfile;
  apparmor?: SecurityProfile;
}

export interface PodSandboxMetadata { name: string; uid: string; namespace: string; attempt?: number }

export interface PodSandboxConfig {
  metadata: PodSandboxMetadata;
  hostname?: string;
  logDirectory?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  linux?: {
    cgroupParent?: string;
    securityContext?: LinuxSandboxSecurityContext;
    sysctls?: Record<string, string>;
    overhead?: LinuxContainerResources;
    resources?: LinuxContainerResources;
  };
}

export interface LinuxContainerSecurityContext {
  capabilities?: Capability;
  privileged?: boolean;
  namespaceOptions?: NamespaceOption;
  runAsUser?: Int64Value;
  runAsGroup?: Int64Value;
  runAsUsername?: string;
  readonlyRootfs?: boolean;
  supplementalGroups?: Int64[];
  noNewPrivs?: boolean;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  seccomp?: SecurityProfile;
  apparmor?: SecurityProfile;
}

export interface ContainerConfig {
  metadata: { name: string; attempt?: number };
  image: ImageSpec;
  command?: string[];
  args?: string[];
  workingDir?: string;
  envs?: KeyValue[];
  mounts?: Mount[];
  devices?: Device[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Relative to the sandbox's logDirectory. */
  logPath?: string;
  stdin?: boolean;
  stdinOnce?: boolean;
  tty?: boolean;
  linux?: { resources?: LinuxContainerResources; securityContext?: LinuxContainerSecurityContext };
}

export interface VersionResponse { version: string; runtimeName: string; runtimeVersion: string; runtimeApiVersion: string }
export interface RuntimeCondition { type: string; status: boolean; reason: string; message: string }
export interface StatusResponse {
  status: { conditions: RuntimeCondition[] } | null;
  /** With verbose: JSON texts keyed by topic (containerd: "config", "golang", "lastCNILoadStatus"...). */
  info: Record<string, string>;
}

export interface PodSandbox {
  id: string;
  metadata: PodSandboxMetadata | null;
  state: PodSandboxState;
  createdAt: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  runtimeHandler: string;
}
export interface PodSandboxStatus extends PodSandbox {
  network: { ip: string } | null;
  linux: { namespaces: { options: NamespaceOption | null } | null } | null;
}
export interface PodSandboxFilter { id?: string; state?: { state: PodSandboxState }; labelSelector?: Record<string, string> }

export interface Container {
  id: string;
  podSandboxId: string;
  metadata: { name: string; attempt: number } | null;
  image: ImageSpec | null;
  imageRef: string;
  state: ContainerState;
  createdAt: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
export interface ContainerStatus {
  id: string;
  metadata: { name: string; attempt: number } | null;
  state: ContainerState;
  createdAt: string;
  startedAt: string;
  finishedAt: string;
  exitCode: number;
  image: ImageSpec | null;
  imageRef: string;
  reason: string;
  message: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  mounts: Mount[];
  logPath: string;
}
export interface ContainerFilter { id?: string; state?: { state: ContainerState }; podSandboxId?: string; labelSelector?: Record<string, string> }

export interface Image {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  size: string;
  uid: Int64Value | null;
  username: string;
  spec: ImageSpec | null;
  pinned: boolean;
}

/** Per call: a deadline (default CALL_TIMEOUT_MS) and an optional signal that cancels it. */
export interface CallOptions { timeoutMs?: number; signal?: AbortSignal }

export interface CriClient {
  /** The endpoint as given, e.g. unix:///run/containerd/containerd.sock. */
  readonly endpoint: string;
  version(opts?: CallOptions): Promise<VersionResponse>;
  status(req?: { verbose?: boolean }, opts?: CallOptions): Promise<StatusResponse>;
  runPodSandbox(req: { config: PodSandboxConfig; runtimeHandler?: string }, opts?: CallOptions): Promise<{ podSandboxId: string }>;
  stopPodSandbox(req: { podSandboxId: string }, opts?: CallOptions): Promise<void>;
  removePodSandbox(req: { podSandboxId: string }, opts?: CallOptions): Promise<void>;
  listPodSandbox(req?: { filter?: PodSandboxFilter }, opts?: CallOptions): Promise<{ items: PodSandbox[] }>;
  podSandboxStatus(req: { podSandboxId: string; verbose?: boolean }, opts?: CallOptions): Promise<{ status: PodSandboxStatus | null; info: Record<string, string> }>;
  createContainer(req: { podSandboxId: string; config: ContainerConfig; sandboxConfig: PodSandboxConfig }, opts?: CallOptions): Promise<{ containerId: string }>;
  startContainer(req: { containerId: string }, opts?: CallOptions): Promise<void>;
  /** timeout: seconds the container gets after SIGTERM before SIGKILL (0: SIGKILL at once). */
  stopContainer(req: { containerId: string; timeout?: Int64 }, opts?: CallOptions): Promise<void>;
  removeContainer(req: { containerId: string }, opts?: CallOptions): Promise<void>;
  containerStatus(req: { containerId: string; verbose?: boolean }, opts?: CallOptions): Promise<{ status: ContainerStatus | null; info: Record<string, string> }>;
  listContainers(req?: { filter?: ContainerFilter }, opts?: CallOptions): Promise<{ containers: Container[] }>;
  imageStatus(req: { image: ImageSpec; verbose?: boolean }, opts?: CallOptions): Promise<{ image: Image | null; info: Record<string, string> }>;
  listImages(req?: { filter?: { image?: ImageSpec } }, opts?: CallOptions): Promise<{ images: Image[] }>;
  close(): void;
}

/** A call's default deadline: RunPodSandbox of a gVisor pod takes about a second; a hung runtime fails it. */
export const CALL_TIMEOUT_MS = 60_000;
/** How long connectCri waits for the socket to answer. */
const CONNECT_TIMEOUT_MS = 5_000;

/** A failed CRI call. `details` is the runtime's status message verbatim; `grpcCode` its gRPC status name. */
export class CriError extends RunError {
  constructor(
    code: RunErrorCode,
    message: string,
    readonly rpc: string,
    readonly grpcCode: string,
    readonly details: string,
    context: { hint?: string } = {},
  ) {
    super(code, message, context);
  }
}

/** gRPC's status codes, fixed by its spec (grpc/doc/statuscodes.md): named without loading the library. */
const STATUS_NAMES = ['OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS',
  'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL',
  'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED'] as const;
const STATUS = Object.fromEntries(STATUS_NAMES.map((n, i) => [n, i])) as Record<(typeof STATUS_NAMES)[number], number>;

/** The runtime could not be reached or does not speak CRI v1: not available. Any other failure: it ran and failed. */
function errorCode(status: number): RunErrorCode {
  switch (status) {
    case STATUS.UNAVAILABLE:
    case STATUS.UNIMPLEMENTED:
      return 'NOT_AVAILABLE';
    case STATUS.INVALID_ARGUMENT:
      return 'BAD_REQUEST';
    default:
      return 'RUNTIME_FAILED';
  }
}

export function criError(rpc: string, endpoint: string, e: unknown): CriError {
  const se = e as Partial<Grpc.ServiceError>;
  const code = typeof se.code === 'number' ? se.code : STATUS.UNKNOWN;
  const details = typeof se.details === 'string' ? se.details : e instanceof Error ? e.message : String(e);
  const name = STATUS_NAMES[code] ?? 'UNKNOWN';
  const hint = code === STATUS.UNAVAILABLE ? `is a CRI runtime listening on ${endpoint}? (bash scripts/setup-cri.sh start runs a private containerd)` : undefined;
  return new CriError(errorCode(code), `CRI ${rpc}: ${details}`, rpc, name, details, hint ? { hint } : {});
}

const LOADER_OPTIONS: ProtoLoader.Options = { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true };

/**
 * api.proto beside this module (tests run the sources) or, from dist/src/runners/cri/ or from the bundled
 * build's chunks in dist/bundle/, in the sources it was built from.
 */
function protoPath(): string {
  const candidates = [
    new URL('./api.proto', import.meta.url),
    new URL('../../../../src/runners/cri/api.proto', import.meta.url),
    new URL('../../src/runners/cri/api.proto', import.meta.url),
  ].map((u) => fileURLToPath(u));
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new RunError('NOT_AVAILABLE', `the CRI API description is missing (looked for ${candidates.join(', ')})`);
  return found;
}

/** Set by loadServices, before any client exists: every use below is on a connected client's path. */
let grpc: typeof Grpc;
let services: { runtime: Grpc.ServiceClientConstructor; image: Grpc.ServiceClientConstructor } | null = null;
async function loadServices() {
  if (!services) {
    const [grpcModule, protoLoader] = await Promise.all([import('@grpc/grpc-js'), import('@grpc/proto-loader')]);
    grpc = grpcModule;
    const def = grpc.loadPackageDefinition(protoLoader.loadSync(protoPath(), LOADER_OPTIONS)) as unknown as {
      runtime: { v1: { RuntimeService: Grpc.ServiceClientConstructor; ImageService: Grpc.ServiceClientConstructor } };
    };
    services = { runtime: def.runtime.v1.RuntimeService, image: def.runtime.v1.ImageService };
  }
  return services;
}

/** `unix:///abs/path` (or `unix:/abs/path`): the socket path; null for any other form. */
export function socketPath(endpoint: string): string | null {
  const m = /^unix:(?:\/\/(\/.*)|(\/[^/].*))$/.exec(endpoint);
  return m ? (m[1] ?? m[2])! : null;
}

/** Connects to a CRI runtime's socket and checks that it answers Version. Throws a RunError (NOT_AVAILABLE) when it does not. */
export async function connectCri(endpoint: string): Promise<CriClient> {
  const sock = socketPath(endpoint);
  if (sock === null) {
    throw new RunError('BAD_REQUEST', `CRI endpoint ${JSON.stringify(endpoint)} is not a unix socket address`, { hint: 'e.g. --cri-endpoint unix:///run/containerd/containerd.sock' });
  }
  if (!existsSync(sock)) {
    throw new RunError('NOT_AVAILABLE', `no CRI runtime at ${endpoint}: ${sock} does not exist`, { hint: 'start one: bash scripts/setup-cri.sh start (a private containerd), or give --cri-endpoint' });
  }
  const { runtime, image } = await loadServices();
  const creds = grpc.credentials.createInsecure();
  // The socket is local: no keepalive pings; messages as large as a kubelet allows (16 MiB).
  const channelOptions = { 'grpc.max_receive_message_length': 16 * 1024 * 1024 };
  const rt = new runtime(`unix://${sock}`, creds, channelOptions);
  const im = new image(`unix://${sock}`, creds, channelOptions);
  const close = () => {
    rt.close();
    im.close();
  };

  const call = <Res>(svc: Grpc.Client, rpc: string, method: string, req: object, opts: CallOptions = {}): Promise<Res> =>
    new Promise<Res>((resolve, reject) => {
      if (opts.signal?.aborted) {
        reject(criError(rpc, endpoint, { code: STATUS.CANCELLED, details: 'cancelled before it was sent' }));
        return;
      }
      const deadline = new Date(Date.now() + (opts.timeoutMs ?? CALL_TIMEOUT_MS));
      const fn = (svc as unknown as Record<string, (r: object, o: Grpc.CallOptions, cb: (e: Grpc.ServiceError | null, v: Res) => void) => Grpc.ClientUnaryCall>)[method]!;
      const onAbort = () => c.cancel();
      const c = fn.call(svc, req, { deadline }, (err, value) => {
        opts.signal?.removeEventListener('abort', onAbort);
        if (err) reject(criError(rpc, endpoint, err));
        else resolve(value);
      });
      opts.signal?.addEventListener('abort', onAbort, { once: true });
    });

  const client: CriClient = {
    endpoint,
    version: (o) => call(rt, 'Version', 'version', { version: 'v1' }, o),
    status: (req = {}, o) => call(rt, 'Status', 'status', req, o),
    runPodSandbox: (req, o) => call(rt, 'RunPodSandbox', 'runPodSandbox', req, o),
    stopPodSandbox: async (req, o) => { await call(rt, 'StopPodSandbox', 'stopPodSandbox', req, o); },
    removePodSandbox: async (req, o) => { await call(rt, 'RemovePodSandbox', 'removePodSandbox', req, o); },
    listPodSandbox: (req = {}, o) => call(rt, 'ListPodSandbox', 'listPodSandbox', req, o),
    podSandboxStatus: (req, o) => call(rt, 'PodSandboxStatus', 'podSandboxStatus', req, o),
    createContainer: (req, o) => call(rt, 'CreateContainer', 'createContainer', req, o),
    startContainer: async (req, o) => { await call(rt, 'StartContainer', 'startContainer', req, o); },
    stopContainer: async (req, o) => { await call(rt, 'StopContainer', 'stopContainer', req, o); },
    removeContainer: async (req, o) => { await call(rt, 'RemoveContainer', 'removeContainer', req, o); },
    containerStatus: (req, o) => call(rt, 'ContainerStatus', 'containerStatus', req, o),
    listContainers: (req = {}, o) => call(rt, 'ListContainers', 'listContainers', req, o),
    imageStatus: (req, o) => call(im, 'ImageStatus', 'imageStatus', req, o),
    listImages: (req = {}, o) => call(im, 'ListImages', 'listImages', req, o),
    close,
  };

  try {
    const v = await client.version({ timeoutMs: CONNECT_TIMEOUT_MS });
    if (v.runtimeApiVersion !== 'v1') {
      throw new RunError('NOT_AVAILABLE', `${endpoint} speaks CRI ${v.runtimeApiVersion || '(no version)'}, not v1 (${v.runtimeName} ${v.runtimeVersion})`);
    }
  } catch (e) {
    close();
    if (e instanceof CriError && e.grpcCode !== 'UNKNOWN' && e.code === 'NOT_AVAILABLE') {
      throw new CriError('NOT_AVAILABLE', `no CRI runtime answers at ${endpoint}: ${e.details}`, e.rpc, e.grpcCode, e.details, e.context);
    }
    throw e;
  }
  return client;
}
