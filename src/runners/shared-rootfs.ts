// One generated rootfs for every pod of a command: the pods (read-only roots, runc's and gVisor's alike) see
// the very same files, and its /etc (~1,200 entries) is copied and removed once instead of once per pod.

import path from 'node:path';
import { makeScratchDir } from './run-dir.js';
import { registerRun } from './registry.js';
import { buildRootfs, type BuiltRootfs } from './rootfs.js';

export interface SharedRootfs {
  built: BuiltRootfs;
  /** Removes it; idempotent. */
  dispose(): Promise<void>;
}

/**
 * The rootfs for `command`'s pods, in a private dir on a tmpfs that every exit of the tool removes. Null when
 * there is no tmpfs scratch or it cannot be built here: each pod then builds its own, and says why it cannot.
 */
export async function shareRootfs(command: string[], include?: string[]): Promise<SharedRootfs | null> {
  const scratch = await makeScratchDir(`rootfs-${process.pid}`);
  if (!scratch) return null;
  const { dispose, unregister } = registerRun({
    label: `pods' rootfs (${scratch})`, tempDir: scratch, containerId: null, keepTemp: false,
    teardown: async () => undefined,
    onInterrupt: () => undefined,
  });
  const end = async () => {
    await dispose();
    unregister();
  };
  const dir = path.join(scratch, 'rootfs');
  try {
    return { built: await buildRootfs(dir, command, include), dispose: end };
  } catch {
    await end();
    return null;
  }
}
