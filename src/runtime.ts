// The one name for what runs a command: the host itself, or an OCI runtime (a RuntimeClass handler).

export type RuntimeKind = 'host' | 'runc' | 'crun' | 'runsc';

/** The runtime of a pod: every kind but the host. */
export type PodRuntime = Exclude<RuntimeKind, 'host'>;
