import assert from "node:assert/strict";
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { isKamihiError, type ScaffoldOptions, scaffold } from "../src/index.js";
import { listFiles, read, recordingProgress, TOKEN, tempDir } from "./helpers.js";

const base = {
  storage: "embedded",
  packageManager: "pnpm",
  install: false,
  git: false,
} as const satisfies Omit<ScaffoldOptions, "name">;

const EVERY_FILE = [
  ".dockerignore",
  ".env",
  ".env.example",
  ".gitignore",
  "Dockerfile",
  "README.md",
  "actions/start/start.md.eta",
  "actions/start/start.ts",
  "docker-compose.yml",
  "kamihi.yaml",
  "models/user.ts",
  "package.json",
  "pnpm-workspace.yaml",
  "templates/signature.eta",
  "test/start.test.ts",
  "tsconfig.json",
];

describe("scaffold", () => {
  it("writes every file of a project and reports them, relative and sorted", async () => {
    const parent = await tempDir();
    const progress = recordingProgress();
    const result = await scaffold(
      { ...base, name: "my-bot", directory: parent, token: TOKEN, adminId: 42 },
      progress,
    );
    assert.equal(result.directory, join(parent, "my-bot"));
    assert.deepEqual(result.files, EVERY_FILE);
    assert.deepEqual(await listFiles(result.directory), EVERY_FILE);
    assert.deepEqual(progress.messages, [`step: Created my-bot in ${result.directory}`]);
  });

  it("writes no .env when there is no secret to keep", async () => {
    const result = await scaffold({ ...base, name: "no-secrets", directory: await tempDir() });
    assert.deepEqual(
      result.files,
      EVERY_FILE.filter((file) => file !== ".env"),
    );
    assert.match(await read(result.directory, ".env.example"), /^KAMIHI_TOKEN=$/m);
    assert.match(
      await read(result.directory, ".env.example"),
      /^# KAMIHI_DB__URL=mongodb:\/\/localhost:27017$/m,
    );
  });

  it("creates the project in the current folder when no directory is given", async () => {
    const parent = await tempDir();
    const cwd = process.cwd();
    process.chdir(parent);
    try {
      const result = await scaffold({ ...base, name: "here" });
      assert.equal(result.directory, join(process.cwd(), "here"));
    } finally {
      process.chdir(cwd);
    }
    assert.deepEqual(await readdir(parent), ["here"]);
  });

  it("writes a package.json with kamihi as the only dependency and the kamihi scripts", async () => {
    const result = await scaffold({ ...base, name: "pkg-bot", directory: await tempDir() });
    const manifest = JSON.parse(await read(result.directory, "package.json"));
    assert.equal(manifest.name, "pkg-bot");
    assert.equal(manifest.version, "0.1.0");
    assert.equal(manifest.private, true);
    assert.equal(manifest.type, "module");
    assert.deepEqual(manifest.engines, { node: ">=22.18" });
    assert.deepEqual(manifest.scripts, {
      dev: "kamihi dev",
      playground: "kamihi playground",
      start: "kamihi run",
      test: "kamihi test",
      typecheck: "tsc --noEmit",
    });
    const ownVersion = JSON.parse(await read(join(import.meta.dirname, ".."), "package.json"))
      .version as string;
    assert.deepEqual(manifest.dependencies, { kamihi: `^${ownVersion}` });
    assert.deepEqual(Object.keys(manifest.devDependencies).sort(), [
      "@kamihi/testing",
      "@types/node",
      "typescript",
    ]);
    // The playground and the project's tests use it; a production install leaves it out.
    assert.equal(manifest.devDependencies["@kamihi/testing"], `^${ownVersion}`);
    assert.match(manifest.devDependencies.typescript, /^\^6\./);
    assert.match(manifest.devDependencies["@types/node"], /^\^22/);
  });

  it("merges extra package.json fields in and takes the kamihi version given", async () => {
    const result = await scaffold({
      ...base,
      name: "merged",
      directory: await tempDir(),
      kamihiVersion: "file:../kamihi.tgz",
      packageJson: {
        pnpm: { overrides: { "@kamihi/core": "file:../core.tgz" } },
        scripts: { lint: "biome check" },
      },
    });
    const manifest = JSON.parse(await read(result.directory, "package.json"));
    assert.deepEqual(manifest.dependencies, { kamihi: "file:../kamihi.tgz" });
    assert.deepEqual(manifest.pnpm, { overrides: { "@kamihi/core": "file:../core.tgz" } });
    assert.equal(manifest.scripts.lint, "biome check");
    assert.equal(manifest.scripts.dev, "kamihi dev", "merging keeps the scripts it does not name");
  });

  it("keeps the token in .env only, readable by its owner only", async () => {
    const result = await scaffold({
      ...base,
      name: "secret-bot",
      directory: await tempDir(),
      token: TOKEN,
    });
    const env = await read(result.directory, ".env");
    assert.match(env, new RegExp(`^KAMIHI_TOKEN=${escapeRegExp(TOKEN)}$`, "m"));
    if (process.platform !== "win32") {
      assert.equal((await stat(join(result.directory, ".env"))).mode & 0o777, 0o600);
    }
    const secretPart = TOKEN.split(":")[1] ?? "";
    for (const file of result.files.filter((f) => f !== ".env")) {
      const content = await read(result.directory, file);
      assert.ok(!content.includes(secretPart), `${file} contains the token`);
    }
    assert.equal(parse(await read(result.directory, "kamihi.yaml")).token, undefined);
  });

  it("writes kamihi.yaml with the embedded store, closed registration and the first admin", async () => {
    const result = await scaffold({
      ...base,
      name: "yaml-bot",
      directory: await tempDir(),
      adminId: 123456789,
    });
    const text = await read(result.directory, "kamihi.yaml");
    const settings = parse(text);
    assert.deepEqual(settings, {
      timezone: "UTC",
      db: { url: "memory://?file=.kamihi/data.json" },
      users: { registration: "closed", admins: [123456789] },
    });
    // Commented: what the file is for, where the token goes, the three registration modes.
    assert.match(text, /^# .*KAMIHI_TOKEN/m);
    for (const mode of ["closed", "open", "approval"]) {
      assert.match(text, new RegExp(`^\\s*#\\s+${mode}\\s+- `, "m"));
    }
  });

  it("leaves an example admin commented out when no admin is given", async () => {
    const result = await scaffold({ ...base, name: "no-admin", directory: await tempDir() });
    const text = await read(result.directory, "kamihi.yaml");
    assert.deepEqual(parse(text).users, { registration: "closed" });
    assert.match(text, /^\s*# admins: \[\d+\]$/m);
  });

  it("keeps a MongoDB URL in .env only, and says so in kamihi.yaml", async () => {
    const url = "mongodb+srv://bot:s3cr3t-pass@cluster0.example.net/bots?retryWrites=true";
    const result = await scaffold({
      ...base,
      name: "mongo-bot",
      directory: await tempDir(),
      storage: { mongodbUrl: url },
    });
    const env = await read(result.directory, ".env");
    assert.match(env, new RegExp(`^KAMIHI_DB__URL=${escapeRegExp(url)}$`, "m"));
    assert.doesNotMatch(env, /KAMIHI_TOKEN/, "no token was given");
    for (const file of result.files.filter((f) => f !== ".env")) {
      const content = await read(result.directory, file);
      assert.ok(!content.includes("s3cr3t-pass"), `${file} contains the database password`);
    }
    const text = await read(result.directory, "kamihi.yaml");
    assert.equal(parse(text).db, undefined, "a db.url in the file would win over .env");
    assert.match(text, /^# .*KAMIHI_DB__URL/m);
    assert.match(await read(result.directory, ".env.example"), /^KAMIHI_DB__URL=mongodb:/m);
  });

  it("quotes .env values that dotenv would otherwise cut at #", async () => {
    const url = "mongodb://localhost:27017/bots#replica";
    const result = await scaffold({
      ...base,
      name: "hash-url",
      directory: await tempDir(),
      storage: { mongodbUrl: url },
    });
    assert.match(
      await read(result.directory, ".env"),
      /^KAMIHI_DB__URL='mongodb:\/\/localhost:27017\/bots#replica'$/m,
    );
  });

  it("writes the start action, its template, a shared partial, the user model and a test", async () => {
    const result = await scaffold({ ...base, name: "src-bot", directory: await tempDir() });
    const action = await read(result.directory, "actions/start/start.ts");
    assert.match(action, /^import \{ bot \} from "kamihi";$/m);
    assert.match(action, /async function start\(\{ user, template \}\)/);
    assert.match(action, /return template\(\{ name: user\.firstName \}\);/);
    assert.match(action, /\{ description: "Say hello", public: true \}/);
    const template = await read(result.directory, "actions/start/start.md.eta");
    assert.match(template, /^Hello <%= it\.name %>!$/m);
    assert.match(template, /Kamihi/);
    assert.match(template, /\/help/);
    assert.match(template, /include\("signature"/);
    assert.match(await read(result.directory, "templates/signature.eta"), /<%= it\.botName/);
    const model = await read(result.directory, "models/user.ts");
    assert.match(model, /^import \{ v \} from "kamihi";$/m);
    assert.match(model, /^export default schema;$/m);
    assert.match(model, /interface UserData extends v\.InferOutput<typeof schema> \{\}/);
    const test = await read(result.directory, "test/start.test.ts");
    assert.match(test, /from "kamihi\/testing"/);
    assert.match(test, /assert\.match\(messageText\(await chat\.nextReply\(\)\), \/Hello Ada!\/\)/);
  });

  it("writes a strict, type-check-only tsconfig covering actions, models and tests", async () => {
    const result = await scaffold({ ...base, name: "ts-bot", directory: await tempDir() });
    const config = JSON.parse(await read(result.directory, "tsconfig.json"));
    assert.equal(config.compilerOptions.strict, true);
    assert.equal(config.compilerOptions.module, "NodeNext");
    assert.equal(config.compilerOptions.moduleResolution, "NodeNext");
    assert.equal(config.compilerOptions.target, "ES2022");
    assert.equal(config.compilerOptions.noEmit, true);
    assert.deepEqual(config.compilerOptions.types, ["node"]);
    assert.deepEqual(config.include, ["actions", "models", "test"]);
  });

  it("ignores secrets, local data and installed modules in git and Docker", async () => {
    const result = await scaffold({ ...base, name: "ignore-bot", directory: await tempDir() });
    const gitignore = (await read(result.directory, ".gitignore")).split("\n");
    for (const entry of ["node_modules/", ".env", ".kamihi/", "dist/", "logs/"]) {
      assert.ok(gitignore.includes(entry), `.gitignore lacks ${entry}`);
    }
    const dockerignore = (await read(result.directory, ".dockerignore")).split("\n");
    for (const entry of ["node_modules/", ".env", ".kamihi/"]) {
      assert.ok(dockerignore.includes(entry), `.dockerignore lacks ${entry}`);
    }
  });

  for (const [pm, install, run, test, exec] of [
    ["pnpm", "pnpm install", "pnpm run dev", "pnpm test", "pnpm exec kamihi"],
    ["npm", "npm install", "npm run dev", "npm test", "npx kamihi"],
    ["yarn", "yarn install", "yarn run dev", "yarn test", "yarn kamihi"],
    ["bun", "bun install", "bun run dev", "bun run test", "bunx kamihi"],
  ] as const) {
    it(`speaks ${pm} in the README and Dockerfile`, async () => {
      const result = await scaffold({
        ...base,
        name: `${pm}-bot`,
        directory: await tempDir(),
        packageManager: pm,
      });
      const readme = await read(result.directory, "README.md");
      assert.match(readme, /^# [a-z]+-bot$/m);
      for (const command of [install, run, test, `${exec} user add <telegramId> --admin`]) {
        assert.ok(readme.includes(command), `README lacks "${command}"`);
      }
      for (const topic of [
        "action new",
        "role add",
        "permission add",
        "KAMIHI_TOKEN",
        "docker compose",
      ]) {
        assert.ok(readme.includes(topic), `README lacks "${topic}"`);
      }
      const others = ["pnpm", "npm", "yarn", "bun"].filter((other) => other !== pm);
      for (const other of others) {
        assert.doesNotMatch(readme, new RegExp(`^${other} `, "m"), `README has ${other} commands`);
      }
      const dockerfile = await read(result.directory, "Dockerfile");
      assert.match(dockerfile, /^FROM node:24-slim$/m);
      assert.match(dockerfile, new RegExp(`^RUN .*\\b${pm} (ci|install)\\b`, "m"));
      assert.match(dockerfile, /^USER node$/m);
      assert.match(dockerfile, /^CMD \["npx", "kamihi", "run"\]$/m);
      // pnpm needs its settings (allowed build scripts) before the install, and only pnpm has them.
      assert.equal(/^COPY .*pnpm-workspace\.yaml/m.test(dockerfile), pm === "pnpm");
      assert.equal(result.files.includes("pnpm-workspace.yaml"), pm === "pnpm");
    });
  }

  it("writes a compose file with the bot and MongoDB on a volume", async () => {
    const result = await scaffold({ ...base, name: "compose-bot", directory: await tempDir() });
    const compose = parse(await read(result.directory, "docker-compose.yml"));
    assert.deepEqual(compose.services.bot, {
      build: ".",
      env_file: ".env",
      environment: { KAMIHI_DB__URL: "mongodb://mongo:27017" },
      depends_on: ["mongo"],
      restart: "unless-stopped",
    });
    assert.equal(compose.services.mongo.image, "mongo:7");
    assert.deepEqual(compose.services.mongo.volumes, ["mongo-data:/data/db"]);
    assert.ok("mongo-data" in compose.volumes);
  });

  it("refuses a folder that exists and is not empty, and writes nothing", async () => {
    const parent = await tempDir();
    const target = join(parent, "taken");
    await scaffold({ ...base, name: "taken", directory: parent });
    await writeFile(join(target, "kamihi.yaml"), "mine\n");
    const before = await listFiles(target);
    await assert.rejects(
      scaffold({ ...base, name: "taken", directory: parent, token: TOKEN }),
      (error: Error) => {
        assert.ok(isKamihiError(error, "KAMIHI_CREATE_TARGET_EXISTS"));
        assert.deepEqual(error.details, { target });
        assert.ok(error.message.includes(target), "the message names the folder");
        assert.match(error.message, /already exists and is not empty/);
        assert.match(error.message, /Choose another project name, or remove or empty/);
        return true;
      },
    );
    assert.deepEqual(await listFiles(target), before);
    assert.equal(await read(target, "kamihi.yaml"), "mine\n");
  });

  it("uses a folder that exists but is empty", async () => {
    const parent = await tempDir();
    await mkdir(join(parent, "empty"));
    const result = await scaffold({ ...base, name: "empty", directory: parent });
    assert.deepEqual(await listFiles(result.directory), result.files);
  });

  it("creates missing parent folders", async () => {
    const parent = join(await tempDir(), "a", "b");
    const result = await scaffold({ ...base, name: "deep", directory: parent });
    assert.equal(result.directory, join(parent, "deep"));
    assert.deepEqual(await listFiles(result.directory), result.files);
  });

  for (const [name, problem] of [
    [
      "My Bot",
      /"My Bot" is not a valid project name \(it has upper-case letters and spaces\)\. .*"my-bot"/,
    ],
    ["../x", /"\.\.\/x" is a path, not a project name.*--dir/],
    ["", /The project name is empty/],
    ["_private", /leading "_"/],
    ["kamihi", /cannot depend on itself/],
    ["http", /reserves/],
    ["@scope/bot", /scoped package name/],
  ] as const) {
    it(`refuses the name ${JSON.stringify(name)} and writes nothing`, async () => {
      const parent = await tempDir();
      await assert.rejects(scaffold({ ...base, name, directory: parent }), (error: Error) => {
        assert.ok(isKamihiError(error, "KAMIHI_CREATE_INVALID_OPTION"));
        assert.match(error.message, problem);
        return true;
      });
      assert.deepEqual(await readdir(parent), []);
    });
  }

  it("refuses a token that is not in @BotFather's format, without repeating it", async () => {
    const parent = await tempDir();
    const bad = "123456789:tooShortSecret";
    await assert.rejects(
      scaffold({ ...base, name: "bot", directory: parent, token: bad }),
      (error: Error) => {
        assert.ok(isKamihiError(error, "KAMIHI_CREATE_INVALID_OPTION"));
        assert.deepEqual(error.details, { option: "token" }, "names the option, not its value");
        assert.match(error.message, /does not look like one from @BotFather/);
        assert.match(error.message, /35 letters, digits, - or _/);
        assert.ok(!error.message.includes("tooShortSecret"));
        return true;
      },
    );
    assert.deepEqual(await readdir(parent), []);
  });

  for (const [url, problem] of [
    ["postgres://user:hunter2@db.example.net/bots", /starts with "postgres:"/],
    ["localhost:27017", /starts with "localhost:"/],
    ["mongodb://", /has no host/],
    ["mongodb://local host:27017", /spaces or control characters/],
  ] as const) {
    it(`refuses the MongoDB URL ${JSON.stringify(url)} without repeating it`, async () => {
      const parent = await tempDir();
      await assert.rejects(
        scaffold({ ...base, name: "bot", directory: parent, storage: { mongodbUrl: url } }),
        (error: Error) => {
          assert.ok(isKamihiError(error, "KAMIHI_CREATE_INVALID_OPTION"));
          assert.match(error.message, problem);
          assert.match(error.message, /mongodb:\/\/localhost:27017/, "says what is expected");
          assert.ok(!error.message.includes("hunter2"));
          return true;
        },
      );
      assert.deepEqual(await readdir(parent), []);
    });
  }

  it("refuses an admin id that is not a positive whole number", async () => {
    for (const adminId of [0, -5, 1.5, Number.NaN]) {
      await assert.rejects(
        scaffold({ ...base, name: "bot", directory: await tempDir(), adminId }),
        (error: Error) => {
          assert.ok(isKamihiError(error, "KAMIHI_CREATE_INVALID_OPTION"));
          assert.deepEqual(error.details, { option: "adminId" });
          assert.match(error.message, /The admin's Telegram id must be a positive whole number/);
          return true;
        },
      );
    }
  });

  it("refuses an unknown package manager", async () => {
    await assert.rejects(
      scaffold({
        ...base,
        name: "bot",
        directory: await tempDir(),
        packageManager: "pip" as "npm",
      }),
      (error: Error) => {
        assert.ok(isKamihiError(error, "KAMIHI_CREATE_INVALID_OPTION"));
        assert.match(
          error.message,
          /packageManager must be one of pnpm, npm, yarn, bun, got "pip"/,
        );
        return true;
      },
    );
  });

  it("fails with KAMIHI_CREATE_WRITE_FAILED when the folder cannot be created, keeping the cause", async () => {
    // A file where the parent folder should be: creating the project folder fails (ENOTDIR).
    const parent = join(await tempDir(), "a-file");
    await writeFile(parent, "not a folder\n");
    const target = join(parent, "bot");
    await assert.rejects(scaffold({ ...base, name: "bot", directory: parent }), (error: Error) => {
      assert.ok(isKamihiError(error, "KAMIHI_CREATE_WRITE_FAILED"));
      assert.deepEqual(error.details, { target });
      assert.ok(error.message.startsWith(`Could not create ${target}: `), error.message);
      assert.match(error.message, /choose another with --dir/);
      assert.equal((error.cause as NodeJS.ErrnoException).code, "ENOTDIR");
      return true;
    });
    assert.equal(await readFile(parent, "utf8"), "not a folder\n");
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
