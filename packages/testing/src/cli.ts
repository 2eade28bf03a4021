#!/usr/bin/env node
// kamihi-emulator: the Telegram Bot API on loopback, for any bot in any language.
import { parseArgs } from "node:util";
import { createEmulator, DEFAULT_TEST_TOKEN } from "./emulator.js";

const usage = `Usage: kamihi-emulator [--port N] [--host H] [--token T] [--flood]

Serves the Telegram Bot API at http://HOST:PORT/bot<TOKEN>/<method>.
Point a bot at it with its API-root setting (Kamihi: tg.apiRoot).

  --port N     port to listen on (default: a free port)
  --host H     address to bind (default: 127.0.0.1)
  --token T    bot token to accept (default: ${DEFAULT_TEST_TOKEN})
  --flood      enforce Telegram's flood limits (1/s per chat, 20/min per group, 30/s overall)
  --help       show this help`;

function fail(message: string): never {
  process.stderr.write(`kamihi-emulator: ${message}\n${usage}\n`);
  process.exit(2);
}

let values: { port?: string; host?: string; token?: string; flood?: boolean; help?: boolean };
try {
  ({ values } = parseArgs({
    options: {
      port: { type: "string" },
      host: { type: "string" },
      token: { type: "string" },
      flood: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  }));
} catch (error) {
  fail((error as Error).message);
}
if (values.help) {
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}
const port = values.port === undefined ? 0 : Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  fail(`--port must be an integer from 0 to 65535, got "${values.port}"`);
}
if (values.token !== undefined && !/^\d+:[A-Za-z0-9_-]+$/.test(values.token)) {
  fail("--token must look like a bot token: digits, a colon, then letters, digits, - or _");
}

try {
  const emulator = await createEmulator({
    port,
    ...(values.host === undefined ? {} : { host: values.host }),
    ...(values.token === undefined ? {} : { token: values.token }),
    ...(values.flood
      ? { limits: { perChatPerSecond: 1, perGroupPerMinute: 20, globalPerSecond: 30 } }
      : {}),
  });
  process.stdout.write(
    `Bot API emulator listening at ${emulator.apiRoot} (token ${emulator.token})\n`,
  );
  const stop = async () => {
    await emulator.stop();
    process.exit(0);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
} catch (error) {
  const err = error as NodeJS.ErrnoException;
  fail(
    err.code === "EADDRINUSE"
      ? `port ${port} is already in use; pick another with --port, or --port 0 for a free one`
      : err.message,
  );
}
