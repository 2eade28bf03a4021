import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/**
 * CPU time and memory of a subject, read from /proc so that no subject needs instrumenting
 * and every subject is measured the same way (its whole process tree).
 */

const TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** `pid` and every process below it. */
export function processTree(pid: number): number[] {
  const found = [pid];
  for (let i = 0; i < found.length; i++) {
    const current = found[i] as number;
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${current}/task`);
    } catch {
      continue;
    }
    for (const task of tasks) {
      try {
        const children = readFileSync(`/proc/${current}/task/${task}/children`, "utf8").trim();
        if (children !== "") found.push(...children.split(/\s+/).map(Number));
      } catch {
        // The task ended while we looked.
      }
    }
  }
  return found;
}

/**
 * User + system CPU of the tree in microseconds, including children it has reaped
 * (cutime/cstime), so a helper process that exits is still counted.
 */
export function cpuMicros(pid: number): number {
  let ticks = 0;
  for (const p of processTree(pid)) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, "utf8");
      // Fields after the command (which may hold spaces) start after the last ")".
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      // utime, stime, cutime, cstime are fields 14–17 (1-based), i.e. 11–14 here.
      for (let i = 11; i <= 14; i++) ticks += Number(fields[i]);
    } catch {
      // The process ended while we looked.
    }
  }
  return (ticks * 1e6) / TICKS_PER_SECOND;
}

/** Resident memory of the tree in bytes. */
export function rssBytes(pid: number): number {
  let kb = 0;
  for (const p of processTree(pid)) {
    try {
      const status = readFileSync(`/proc/${p}/status`, "utf8");
      kb += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    } catch {
      // The process ended while we looked.
    }
  }
  return kb * 1024;
}

/** Whether /proc can be read for this process: the bench needs Linux. */
export function procAvailable(): boolean {
  try {
    readFileSync(`/proc/${process.pid}/stat`, "utf8");
    return true;
  } catch {
    return false;
  }
}
