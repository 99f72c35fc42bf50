/**
 * The Prometheus text exposition format (0.0.4) for both programs' /metrics:
 * families with HELP and TYPE, samples with escaped labels. A family with no
 * samples is left out.
 */

/** Label names to values. */
export type Labels = Readonly<Record<string, string>>;

/** One sample of a family. */
export interface Sample {
  labels: Labels;
  value: number;
}

/** Collects families in order; `render()` writes them. */
export class Exposition {
  #families: { name: string; help: string; type: "gauge" | "counter"; samples: Sample[] }[] = [];

  /** Adds a family and returns its (empty) sample list to push to. */
  family(name: string, type: "gauge" | "counter", help: string): Sample[] {
    const samples: Sample[] = [];
    this.#families.push({ name, help, type, samples });
    return samples;
  }

  /** The text of every family that has samples. */
  render(): string {
    let text = "";
    for (const f of this.#families) {
      if (f.samples.length === 0) continue;
      text += `# HELP ${f.name} ${escapeHelp(f.help)}\n# TYPE ${f.name} ${f.type}\n`;
      for (const s of f.samples) {
        text += `${f.name}${renderLabels(s.labels)} ${formatValue(s.value)}\n`;
      }
    }
    return text;
  }
}

function renderLabels(labels: Labels): string {
  const pairs = Object.entries(labels).map(([name, value]) =>
    `${name}="${escapeLabelValue(value)}"`
  );
  return pairs.length === 0 ? "" : `{${pairs.join(",")}}`;
}

/** Escapes a label value: backslash, double quote and line feed, as the format requires. */
export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => c === "\n" ? "\\n" : `\\${c}`);
}

function escapeHelp(text: string): string {
  return text.replace(/[\\\n]/g, (c) => c === "\n" ? "\\n" : "\\\\");
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}
