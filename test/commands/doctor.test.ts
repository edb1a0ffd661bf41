// doctor's pure parts: recognising each runtime's "no such handler" wording, and the fix it prints.
import { describe, it, expect } from 'vitest';
import { WORDINGS, recogniseHandlerMissing } from '../../src/doctor/wording.js';
import { containerdStanza, crioStanza, criPluginTable, runtimeClassManifest, upstreamPlan } from '../../src/doctor/fix.js';

describe('recogniseHandlerMissing', () => {
  it('reads the seed\'s own event line: dockershim\'s wording, handler runsc', () => {
    // The kubelet event from the seed's `k describe pods gvisor`, as printed there.
    const event = 'Warning FailedCreatePodSandBox 47h (x1778 over 2d19h) kubelet Failed to create pod sandbox: rpc error: code = Unknown desc = RuntimeHandler "runsc" not supported';
    expect(recogniseHandlerMissing(event)).toEqual({ runtime: 'dockershim', handler: 'runsc', words: 'RuntimeHandler "runsc" not supported' });
  });

  it('reads containerd 1.6\'s answer as grpc-js reports it (code 2 UNKNOWN)', () => {
    const msg = '2 UNKNOWN: failed to get sandbox runtime: no runtime for "runsc" is configured';
    expect(recogniseHandlerMissing(msg)).toEqual({ runtime: 'containerd', handler: 'runsc', words: 'no runtime for "runsc" is configured' });
  });

  it('reads CRI-O\'s answer, runtime list and all', () => {
    const msg = 'rpc error: code = Unknown desc = failed to find runtime handler kata from runtime list map[crun:0xc000004480 runc:0xc00021fc80]';
    expect(recogniseHandlerMissing(msg)).toMatchObject({ runtime: 'cri-o', handler: 'kata' });
  });

  it('undoes Go\'s %q quoting of the handler', () => {
    expect(recogniseHandlerMissing('no runtime for "we\\"ird" is configured')?.handler).toBe('we"ird');
  });

  it('every wording\'s example is recognised as its own runtime, with the handler', () => {
    for (const w of WORDINGS) expect(recogniseHandlerMissing(w.example('kata'))).toMatchObject({ runtime: w.runtime, handler: 'kata' });
  });

  it('other failures are not mistaken for a missing handler', () => {
    for (const msg of [
      '2 UNKNOWN: failed to create containerd task: failed to create shim task: OCI runtime create failed',
      '14 UNAVAILABLE: No connection established',
      'failed to get sandbox image "k8s.gcr.io/pause:3.6": failed to pull image',
      'RuntimeClass "gvisor" not found',
    ]) expect(recogniseHandlerMissing(msg)).toBeNull();
  });
});

describe('the fix', () => {
  it('containerd 1.x: the CRI plugin table of config version 2, upstream\'s gVisor shim', () => {
    expect(containerdStanza(upstreamPlan('runsc')!, '1.6.20~ds1')).toBe(
      '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runsc]\n  runtime_type = "io.containerd.runsc.v1"\n');
  });

  it('the runc v2 shim driving another binary: BinaryName in the options table', () => {
    expect(containerdStanza({ kind: 'runc-shim', handler: 'runsc', binaryName: '/opt/x/runsc-wrapper' }, 'v1.7.2')).toBe([
      '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runsc]',
      '  runtime_type = "io.containerd.runc.v2"',
      '  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runsc.options]',
      '    BinaryName = "/opt/x/runsc-wrapper"',
      '',
    ].join('\n'));
  });

  it('containerd 2.x moved the table; an unknown version gets 1.x\'s', () => {
    expect(criPluginTable('v2.0.1')).toBe('plugins."io.containerd.cri.v1.runtime"');
    expect(criPluginTable(null)).toBe('plugins."io.containerd.grpc.v1.cri"');
  });

  it('a handler name that is no bare TOML key is quoted, and a path with a quote escaped', () => {
    const s = containerdStanza({ kind: 'runc-shim', handler: 'a.b', binaryName: '/x/"y' }, '1.6.20');
    expect(s).toContain('.containerd.runtimes."a.b"]');
    expect(s).toContain('BinaryName = "/x/\\"y"');
  });

  it('kata and runc have upstream shims; an unknown handler has none', () => {
    expect(upstreamPlan('kata')).toEqual({ kind: 'shim', handler: 'kata', runtimeType: 'io.containerd.kata.v2' });
    expect(upstreamPlan('nosuch')).toBeNull();
  });

  it('CRI-O\'s drop-in', () => {
    expect(crioStanza('runsc', '/usr/bin/runsc')).toBe(
      '[crio.runtime.runtimes.runsc]\nruntime_path = "/usr/bin/runsc"\nruntime_type = "oci"\nruntime_root = "/run/runsc"\n');
  });

  it('the RuntimeClass: node.k8s.io/v1 (the seed\'s v1beta1 is gone since Kubernetes 1.25)', () => {
    expect(runtimeClassManifest('gvisor', 'runsc')).toBe('apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata:\n  name: gvisor\nhandler: runsc\n');
  });
});
