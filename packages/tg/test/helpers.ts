import { createServer } from "node:net";
import { after } from "node:test";
import { createEmulator, type Emulator, type EmulatorOptions } from "@kamihi/testing";
import {
  createTelegrafTransport,
  type TelegrafTransport,
  type TelegrafTransportOptions,
} from "../src/index.js";

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

export async function emulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const emu = await createEmulator(options);
  cleanups.push(() => emu.stop());
  return emu;
}

/** A transport pointed at the emulator, stopped after the file's tests. */
export function transport(
  emu: Emulator,
  options: Partial<TelegrafTransportOptions> = {},
): TelegrafTransport {
  const created = createTelegrafTransport({
    token: emu.token,
    apiRoot: emu.apiRoot,
    retryDelayMs: 20,
    ...options,
  });
  cleanups.push(() => created.stop());
  return created;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
