/**
 * A one-line progress bar for command-line tools: redrawn in place on a terminal, one line per
 * tenth of the way otherwise (logs and CI output stay readable).
 */
export interface ProgressBar {
  update(done: number, total: number, label?: string): void;
  finish(message: string): void;
}

const WIDTH = 30;

export function createProgressBar(stream: NodeJS.WriteStream): ProgressBar {
  let lastTenth = -1;
  let drawn = false;
  return {
    update(done, total, label = '') {
      const ratio = total > 0 ? Math.min(1, done / total) : 1;
      const percent = Math.floor(ratio * 100);
      const text = `${label}[${'#'.repeat(Math.round(ratio * WIDTH)).padEnd(WIDTH, '-')}] ${String(percent).padStart(3)}%  ${done}/${total}`;
      if (stream.isTTY) {
        stream.write(`\r${text}\u001b[K`);
        drawn = true;
      } else if (Math.floor(percent / 10) !== lastTenth) {
        lastTenth = Math.floor(percent / 10);
        stream.write(`${text}\n`);
      }
    },
    finish(message) {
      stream.write(`${drawn ? '\n' : ''}${message}\n`);
      drawn = false;
    },
  };
}
