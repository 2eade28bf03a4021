// Measures the embedded store's cost per operation as the collection grows. Run by hand (it is
// not a test, and asserts nothing about speed):
//
//   cd packages/db && node --expose-gc --import tsx test/bench/embedded-store.ts [sizes…]
//
// Prints, per collection size: the average time of findOne and updateOne by a unique key, the
// bytes the file-backed store writes for one single-document update (from /proc/self/io, so
// Linux only), and the time to load a file of that many documents, in the format older Kamihi
// versions wrote and (after a close) in the store's own format.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type { Document } from "@kamihi/core";
import { EJSON } from "bson";
import { createMemoryStore } from "../../src/index.js";

interface Conversation extends Document {
  chatId: number;
  action: string;
  step: number;
  answers: Record<string, unknown>;
  expiresAt: Date;
}

const sizes = process.argv.slice(2).map(Number);
if (sizes.length === 0) sizes.push(1_000, 100_000);

function conversation(i: number): Conversation & { _id: string; createdAt: Date; updatedAt: Date } {
  const at = new Date(Date.UTC(2026, 0, 1) + i * 1000);
  return {
    _id: i.toString(16).padStart(24, "0"),
    chatId: 1_000_000 + i,
    action: `survey${i % 7}`,
    step: i % 5,
    answers: { name: `user number ${i}`, age: 20 + (i % 50), likes: ["tea", "cats"] },
    expiresAt: new Date(at.getTime() + 86_400_000 * 365),
    createdAt: at,
    updatedAt: at,
  };
}

/** A data file as Kamihi wrote it before the log: one EJSON document with every collection. */
function writeVersion1File(file: string, count: number) {
  const documents = Array.from({ length: count }, (_, i) => conversation(i));
  const snapshot = {
    version: 1,
    collections: {
      kamihi_conversations: {
        documents,
        indexes: [{ keys: { chatId: 1 }, unique: true, name: "chatId_1" }],
      },
    },
  };
  writeFileSync(file, EJSON.stringify(snapshot, { relaxed: false }));
}

/** Bytes this process has written through write(2) so far (Linux). */
function bytesWritten(): number {
  try {
    const io = readFileSync("/proc/self/io", "utf8");
    return Number(/^wchar: (\d+)$/m.exec(io)?.[1] ?? Number.NaN);
  } catch {
    return Number.NaN;
  }
}

/** Run with `node --expose-gc` to start each measure on a collected heap. */
const collectGarbage = (globalThis as { gc?: () => void }).gc ?? (() => {});

/**
 * The average time of `fn` in µs: the median of five blocks of `times / 5` calls, so that a
 * pause of the machine (other processes, a major GC) spoils one block, not the figure.
 */
async function timeEach(times: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.min(times, 20); i++) await fn(i); // warm-up
  collectGarbage();
  const perBlock = Math.max(1, Math.round(times / 5));
  const blocks: number[] = [];
  let call = 0;
  for (let block = 0; block < 5; block++) {
    const started = performance.now();
    for (let i = 0; i < perBlock; i++) await fn(call++);
    blocks.push(((performance.now() - started) / perBlock) * 1000);
  }
  blocks.sort((a, b) => a - b);
  return blocks[2] as number;
}

/** How long opening the store on a file takes (ms): the median of three. */
async function timeLoad(prepare: () => string): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const path = prepare();
    collectGarbage();
    const started = performance.now();
    const store = createMemoryStore({ file: path, flushDelayMs: 60_000 });
    await store.connect();
    times.push(performance.now() - started);
    await store.close();
  }
  times.sort((a, b) => a - b);
  return times[1] as number;
}

const rows: string[] = [];
for (const count of sizes) {
  const dir = mkdtempSync(join(tmpdir(), "kamihi-bench-"));
  const file = join(dir, "data.json");
  try {
    writeVersion1File(file, count);
    const oldFormatBytes = statSync(file).size;
    const loadOld = await timeLoad(() => {
      const scratch = join(dir, "scratch.json");
      copyFileSync(file, scratch);
      return scratch;
    });

    const store = createMemoryStore({ file, flushDelayMs: 60_000 });
    await store.connect();
    const conversations = store.collection<Conversation>("conversations");
    // Few rounds where one operation may scan everything: the point is the order of growth.
    const rounds = Number(process.env.ROUNDS ?? (count >= 50_000 ? 200 : 2_000));
    const key = (i: number) => 1_000_000 + ((i * 7919) % count);

    const findUs = await timeEach(rounds, (i) => conversations.findOne({ chatId: key(i) }));
    const updateUs = await timeEach(rounds, (i) =>
      conversations.updateOne({ chatId: key(i) }, { $inc: { step: 1 } }),
    );
    // The first write after loading an old file rewrites it whole: measure the next ones.
    await store.sync?.();
    await conversations.updateOne({ chatId: key(1) }, { $set: { step: 9 } });
    await store.sync?.();
    const samples: number[] = [];
    for (let i = 0; i < 20; i++) {
      const before = bytesWritten();
      await conversations.updateOne({ chatId: key(i) }, { $set: { "answers.age": i } });
      await store.sync?.();
      samples.push(bytesWritten() - before);
    }
    samples.sort((a, b) => a - b);
    const perUpdate = samples[Math.floor(samples.length / 2)] ?? Number.NaN;
    const countUs = await timeEach(rounds, () => conversations.countDocuments({}));
    const pageUs = await timeEach(Math.max(20, rounds / 10), () =>
      conversations.find({}, { sort: { expiresAt: -1 }, skip: 10, limit: 20 }),
    );
    await store.close();
    const fileBytes = statSync(file).size;

    const loadNew = await timeLoad(() => file);

    rows.push(
      [
        `${count.toLocaleString("en")} documents`,
        `  findOne by unique key:    ${findUs.toFixed(1)} µs`,
        `  updateOne by unique key:  ${updateUs.toFixed(1)} µs`,
        `  countDocuments({}):       ${countUs.toFixed(1)} µs`,
        `  find sorted, skip+limit:  ${pageUs.toFixed(1)} µs`,
        `  bytes written per update: ${perUpdate.toLocaleString("en")} (median of 20, update + sync)`,
        `  load, version 1 file:     ${loadOld.toFixed(0)} ms (${oldFormatBytes.toLocaleString("en")} bytes)`,
        `  load after close:         ${loadNew.toFixed(0)} ms (${fileBytes.toLocaleString("en")} bytes)`,
      ].join("\n"),
    );
    console.log(rows.at(-1));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
