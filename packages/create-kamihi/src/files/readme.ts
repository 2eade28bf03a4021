import { execCommand, runScript, testCommand } from "../package-managers.js";
import type { ProjectFile, ProjectSpec } from "./project.js";

/** `README.md`: running, configuring, extending, testing and deploying the new bot. */
export function readmeFile(spec: ProjectSpec): ProjectFile {
  const pm = spec.packageManager;
  const kamihi = (args: string) => execCommand(pm, `kamihi ${args}`);
  const storage =
    spec.mongodbUrl === undefined
      ? "The bot keeps its data in the embedded store (`.kamihi/data.json`): no database to install. For production, use MongoDB: delete the `db:` section of `kamihi.yaml` and set `KAMIHI_DB__URL=mongodb://…` in `.env`."
      : "The bot keeps its data in MongoDB; the connection string is `KAMIHI_DB__URL` in `.env`.";
  const content = `# ${spec.name}

A Telegram bot built with [Kamihi](https://www.npmjs.com/package/kamihi).

## Run it

1. Ask [@BotFather](https://t.me/BotFather) for a bot token, and put it in \`.env\` (copy
   \`.env.example\` if there is no \`.env\` yet):

   \`\`\`sh
   KAMIHI_TOKEN=123456789:AAE…
   \`\`\`

   The token is a secret: it lives in \`.env\` only, which git and Docker leave out.

2. Install and start:

   \`\`\`sh
   ${pm} install
   ${runScript(pm, "dev")}     # reloads when you change an action or a template
   ${runScript(pm, "start")}   # runs the bot as in production
   \`\`\`

3. Send \`/start\` to your bot on Telegram.

No token yet, or no network? \`${runScript(pm, "playground")}\` runs the bot against a Telegram
emulator and opens a chat with it in the browser (http://127.0.0.1:4243): switch between an
admin, a user and a stranger to see who may run what.

${storage}

Settings are in \`kamihi.yaml\` (each one is explained there); any of them can also come from the
environment as \`KAMIHI_<KEY>\`, such as \`KAMIHI_DB__URL\` for \`db.url\`.

## Layout

| path | what it holds |
|---|---|
| \`actions/\` | one folder per action: its code (\`start.ts\`) and its templates (\`start.md.eta\`) |
| \`templates/\` | partials shared by every action's templates (\`signature.eta\`) |
| \`models/user.ts\` | your users' own fields, validated and typed on \`user.data\` |
| \`test/\` | tests that talk to the bot through a fake Telegram |
| \`kamihi.yaml\` | settings, without secrets |
| \`.env\` | secrets: the bot token, the database URL |

## Add an action

\`\`\`sh
${kamihi("action new <name>")}
\`\`\`

An action is a function in \`actions/<name>/<name>.ts\`; its command is the function's name. What
it returns is sent back as Markdown. Its template \`<name>.md.eta\` is rendered with
\`template({ … })\`, and values written with \`<%= … %>\` are escaped, so user input never turns
into formatting.

## Users, roles and permissions

Only public actions (such as \`/start\`) answer everyone. Everything else is for users you add,
and registration is \`closed\` in \`kamihi.yaml\` (\`open\` and \`approval\` are the other modes).

\`\`\`sh
${kamihi("user add <telegramId> --admin")}   # an admin may run every action
${kamihi("role add editors")}
${kamihi("user add <telegramId> --role editors")}
${kamihi("permission add <action> --role editors")}
${kamihi("user list")}
\`\`\`

Message [@userinfobot](https://t.me/userinfobot) to learn your Telegram id.

## Test

\`\`\`sh
${testCommand(pm)}
${runScript(pm, "typecheck")}
\`\`\`

Tests run the bot against an emulator of the Telegram Bot API on your machine: no token, network
or database needed. See \`test/start.test.ts\`.

## Deploy with Docker

\`\`\`sh
docker compose up -d --build
\`\`\`

\`docker-compose.yml\` runs the bot (built from \`Dockerfile\`, as an unprivileged user) and
MongoDB with its data on a volume. The bot reads its token from \`.env\`; the image never contains
it.${spec.mongodbUrl === undefined ? " Delete the `db:` section of `kamihi.yaml` first, so the bot uses that MongoDB instead of the embedded store." : ""}
`;
  return { path: "README.md", content };
}
