// doctor's parts that need no runtime: recognising each runtime's "no such handler" wording, the fix it
// prints, what it reads of containerd's CRI config, the exit code and the report's text.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WORDINGS, recogniseHandlerMissing } from '../../src/runners/cri/wording.js';
import { containerdStanza, crioStanza, criPluginTable, runtimeClassManifest, upstreamPlan } from '../../src/doctor/fix.js';
import { fixFor, readCriConfig, siblingPlan, type Check, type Node } from '../../src/doctor/checks.js';
import { exitCode, renderDoctor, runDoctor, type DoctorReport } from '../../src/commands/doctor.js';
import { UserError } from '../../src/errors.js';

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
  it('containerd 1.x: the CRI plugin table of config version 2, upstream\'s gVisor shim, gVisor\'s annotations passed', () => {
    expect(containerdStanza(upstreamPlan('runsc')!, '1.6.20~ds1')).toBe([
      '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runsc]',
      '  runtime_type = "io.containerd.runsc.v1"',
      '  pod_annotations = ["dev.gvisor.*"]',
      '  container_annotations = ["dev.gvisor.*"]',
      '',
    ].join('\n'));
  });

  it('the runc v2 shim driving another binary: BinaryName (and Root) in the options table', () => {
    expect(containerdStanza({ kind: 'runc-shim', handler: 'runsc', binaryName: '/opt/x/runsc-wrapper', root: '/run/x/runsc' }, 'v1.7.2')).toBe([
      '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runsc]',
      '  runtime_type = "io.containerd.runc.v2"',
      '  pod_annotations = ["dev.gvisor.*"]',
      '  container_annotations = ["dev.gvisor.*"]',
      '  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runsc.options]',
      '    BinaryName = "/opt/x/runsc-wrapper"',
      '    Root = "/run/x/runsc"',
      '',
    ].join('\n'));
    expect(containerdStanza({ kind: 'runc-shim', handler: 'crun', binaryName: '/usr/bin/crun' }, '1.6.20')).not.toContain('annotations');
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

// containerd 1.6.20's Status(verbose) `config`, trimmed to what the doctor reads (the shape is containerd's).
const STATUS_CONFIG = JSON.stringify({
  containerd: {
    snapshotter: 'overlayfs', defaultRuntimeName: 'runc',
    runtimes: { runc: { runtimeType: 'io.containerd.runc.v2', runtimePath: '', options: { BinaryName: '/run/x/bin/runc', Root: '/run/x/runtimes/runc' } } },
  },
  sandboxImage: 'localhost/trace-compare/sandbox:1',
  containerdRootDir: '/run/x/root',
});

describe('what the doctor reads of containerd\'s CRI config', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'tc-doctor-unit-'));
    mkdirSync(path.join(dir, 'bin'));
    for (const f of ['runc', 'runsc']) {
      writeFileSync(path.join(dir, 'bin', f), '#!/bin/sh\n');
      chmodSync(path.join(dir, 'bin', f), 0o755);
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the handlers and the sandbox image; nothing from a runtime that publishes no config', () => {
    expect(readCriConfig({ config: STATUS_CONFIG, golang: '"go1.19"' })).toEqual({
      runtimes: { runc: { runtimeType: 'io.containerd.runc.v2', options: { BinaryName: '/run/x/bin/runc', Root: '/run/x/runtimes/runc' } } },
      sandboxImage: 'localhost/trace-compare/sandbox:1',
    });
    expect(readCriConfig({})).toBeNull();
    expect(readCriConfig({ config: 'not json' })).toBeNull();
  });

  it('a wrapper named after the handler\'s binary beside the runc handler\'s: the same shim, its state beside runc\'s', async () => {
    const config = { sandboxImage: null, runtimes: { runc: { runtimeType: 'io.containerd.runc.v2', options: { BinaryName: path.join(dir, 'bin/runc'), Root: '/run/x/runtimes/runc' } } } };
    expect(await siblingPlan(config, 'runsc')).toEqual({ kind: 'runc-shim', handler: 'runsc', binaryName: path.join(dir, 'bin/runsc'), root: '/run/x/runtimes/runsc' });
    expect(await siblingPlan(config, 'kata')).toBeNull();
  });

  it('the fix for containerd\'s refusal: the wrapper\'s stanza first, upstream\'s form beside it, the RuntimeClass', async () => {
    const node: Node = {
      endpoint: 'unix:///x.sock', cri: null, failure: null, configFailure: null,
      version: { version: '0.1.0', runtimeName: 'containerd', runtimeVersion: '1.6.20~ds1', runtimeApiVersion: 'v1' },
      config: { sandboxImage: null, runtimes: { runc: { runtimeType: 'io.containerd.runc.v2', options: { BinaryName: path.join(dir, 'bin/runc') } } } },
    };
    const fix = await fixFor(node, recogniseHandlerMissing('no runtime for "runsc" is configured')!, 'gvisor');
    expect(fix.stanza).toContain(`BinaryName = "${path.join(dir, 'bin/runsc')}"`);
    expect(fix.upstream?.stanza).toContain('runtime_type = "io.containerd.runsc.v1"');
    expect(fix.otherWordings.map((w) => w.words)).toContain('RuntimeHandler "runsc" not supported');
    expect(fix.runtimeClass).toBe(runtimeClassManifest('gvisor', 'runsc'));
  });
});

describe('exit code and report', () => {
  const all = (status: Check['status']) => ['runtime binary', 'CRI runtime', 'handler configured', 'sandbox image', 'pod starts', 'kernel release']
    .map((name) => ({ name, status, detail: 'd' }) as Check);
  const report = (checks: Check[], fix: DoctorReport['pods'][0]['fix'] = null): DoctorReport => ({
    endpoint: 'unix:///x.sock', runtime: null, pods: [{ pod: 'gvisor', runtimeClass: 'gvisor', handler: 'runsc', checks, release: null, fix }],
  });

  it('0 all ok; 4 a link missing (binary, CRI runtime, handler); 5 all there but the pod failed', () => {
    expect(exitCode(report(all('ok')))).toBe(0);
    const noHandler = all('ok').map((c) => (c.name === 'handler configured' ? { ...c, status: 'failed' as const } : c));
    expect(exitCode(report(noHandler))).toBe(4);
    const podFailed = all('ok').map((c) => (c.name === 'pod starts' ? { ...c, status: 'failed' as const } : c.name === 'kernel release' ? { ...c, status: 'skipped' as const } : c));
    expect(exitCode(report(podFailed))).toBe(5);
  });

  it('the table: a mark per check; the fix with the stanza indented as printed; a runtime\'s control characters made visible', () => {
    const checks = all('ok');
    checks[4] = { name: 'pod starts', status: 'failed', detail: 'no runtime for "runsc" is configured\x1b[2J' };
    const text = renderDoctor(report(checks, {
      refusal: { runtime: 'containerd', handler: 'runsc', words: 'no runtime for "runsc" is configured' },
      otherWordings: [{ runtime: 'dockershim', words: 'RuntimeHandler "runsc" not supported' }],
      meaning: 'm', configFile: 'config.toml', stanza: '[a]\n  b = 1\n', upstream: null, runtimeClass: runtimeClassManifest('gvisor', 'runsc'),
    }));
    expect(text).toContain('  failed   pod starts          no runtime for "runsc" is configured\\x1b[2J\n');
    expect(text).toContain('the seed\'s node (dockershim) says: RuntimeHandler "runsc" not supported');
    expect(text).toContain('\n    [a]\n      b = 1\n');
    expect(text).toContain('    apiVersion: node.k8s.io/v1\n');
  });
});

describe('runDoctor\'s usage errors', () => {
  it('an endpoint that is no unix socket address, or a bad --pod: one line, exit 2', async () => {
    for (const a of [{ 'cri-endpoint': 'tcp://localhost:1' }, { pod: ['bad name'] }]) {
      const err = await runDoctor({ format: 'table', ...a }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UserError);
      expect((err as UserError).exitCode).toBe(2);
    }
  });
});
