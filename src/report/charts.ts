// The HTML report's charts: Vega-Lite specs compiled to Vega and rendered to SVG in Node (no canvas, no
// browser, no network: every value is inline). Vega escapes the text it writes into the SVG; the specs hold
// only data values and our own titles. Pure over a Comparison's figures.

// vega and vega-lite are loaded when a chart is drawn: together they cost every other command 0.6 s of start-up.
import type * as Vega from 'vega';
import type { TopLevelSpec } from 'vega-lite';
import { escapeControls } from './escape.js';
// The layer type is not re-exported at the top: the package exports its build's types under types_unstable.
import type { LayerSpec } from 'vega-lite/types_unstable/spec/index.js';
import type { Field } from 'vega-lite/types_unstable/channeldef.js';

/** One bar: a category (syscall, class) in an environment, and its count. */
export interface Bar {
  environment: string;
  category: string;
  value: number;
}

export interface BarChart {
  title: string;
  /** Axis title of the categories, e.g. `syscall`. */
  category: string;
  /** Axis title of the values, e.g. `calls issued`. */
  measure: string;
  bars: Bar[];
  /** The environments plotted, in report order. */
  environments: string[];
  /** Every environment of the report, so that an environment has one colour in every chart; default `environments`. */
  palette?: string[];
}

/** Row height of one bar, in pixels: small enough for 30 syscalls, tall enough to read a label. */
const BAR = 12;

/** A grouped horizontal bar chart: one group per category (in the order of `bars`), one bar per environment. */
export function barSpec(chart: BarChart): TopLevelSpec {
  // Names from a trace are drawn as text (titles name environments): controls shown as the other formats show them.
  const bars = chart.bars.map((b) => ({ environment: escapeControls(b.environment), category: escapeControls(b.category), value: b.value }));
  const environments = chart.environments.map(escapeControls);
  const palette = (chart.palette ?? chart.environments).map(escapeControls);
  const order = [...new Set(bars.map((b) => b.category))];
  // Each bar carries its count as text: a 0 (a call the host kernel never saw) is read, not guessed from a missing bar.
  const layered: LayerSpec<Field> = {
    encoding: {
      y: { field: 'category', type: 'nominal', title: chart.category, axis: { labelLimit: 160 }, sort: order },
      x: { field: 'value', type: 'quantitative', title: chart.measure },
      yOffset: { field: 'environment', type: 'nominal', sort: environments },
    },
    layer: [
      {
        mark: { type: 'bar', tooltip: true },
        encoding: {
          color: { field: 'environment', type: 'nominal', title: 'environment', scale: { domain: palette } },
          tooltip: [
            { field: 'environment', type: 'nominal' },
            { field: 'category', type: 'nominal', title: chart.category },
            { field: 'value', type: 'quantitative', title: chart.measure },
          ],
        },
      },
      // aria: false: a screen reader reads each figure once, from its bar.
      { mark: { type: 'text', align: 'left', dx: 2, fontSize: 9, aria: false }, encoding: { text: { field: 'value', type: 'quantitative' } } },
    ],
  };
  const top = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: escapeControls(chart.title),
    data: { values: bars },
    config: { font: 'sans-serif', view: { stroke: null }, legend: { orient: 'top' as const } },
  };
  // With yOffset the step is one bar's (the offset band): each category takes one per environment.
  return { ...top, width: 300, height: { step: BAR }, ...layered };
}

/** The chart as an SVG document fragment (`<svg ...>...</svg>`), rendered headless by Vega. */
export async function renderChart(spec: TopLevelSpec): Promise<string> {
  // Our specs are fixed and their data inline: a warning is a bug in a spec, never the user's to read.
  const [vega, vl] = await Promise.all([import('vega'), import('vega-lite')]);
  const logger = strictLogger(vega.Warn);
  const view = new vega.View(vega.parse(vl.compile(spec, { logger }).spec), { renderer: 'none', logger, logLevel: vega.Warn });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** A Vega logger that throws on a warning or an error (both libraries accept it) and drops info and debug. */
function strictLogger(warn: number): Vega.LoggerInterface {
  const logger: Vega.LoggerInterface = {
    level() { return warn; },
    error(...args: readonly unknown[]): never { throw new Error(`vega: ${args.map(String).join(' ')}`); },
    warn(...args: readonly unknown[]): never { throw new Error(`vega: ${args.map(String).join(' ')}`); },
    info() { return logger; },
    debug() { return logger; },
  };
  return logger;
}
