# How docs/lesson-seed.json.gz, .md, .html and .png were made: one run of lessons/seed.json, as root, on a
# development machine, with the code of commit e212fdf (built with tsc; the host-kernel view counted by bpftrace):
flock /tmp/trace-compare-live.lock ./bin/trace-compare.js lesson lessons/seed.json --format json > docs/lesson-seed.json
./bin/trace-compare.js lesson --from-json docs/lesson-seed.json --format markdown > docs/lesson-seed.md
./bin/trace-compare.js lesson --from-json docs/lesson-seed.json --format html > docs/lesson-seed.html
gzip -9 -n docs/lesson-seed.json    # kept gzipped: zcat docs/lesson-seed.json.gz | ... --from-json /dev/stdin
# The screenshot: 1280 x 2000 pixels of the page from its first command, in Debian's headless Chromium
# (playwright-core), by this script run from the repository's root:
node --input-type=module -e "
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
const profile = mkdtempSync(path.join(os.tmpdir(), 'tc-chromium-'));
const ctx = await chromium.launchPersistentContext(profile, { executablePath: '/usr/bin/chromium', headless: true, viewport: { width: 1280, height: 1800 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
const page = await ctx.newPage();
await page.goto('file://' + path.resolve('docs/lesson-seed.html'));
const top = (await page.locator('#cmd-1').boundingBox()).y;
await page.screenshot({ path: 'docs/lesson-seed.png', fullPage: true, clip: { x: 0, y: top, width: 1280, height: 2000 } });
await ctx.close();
rmSync(profile, { recursive: true, force: true });
"
