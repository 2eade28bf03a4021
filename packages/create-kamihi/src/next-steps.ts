import { relative } from "node:path";
import type { Answers } from "./answers.js";
import { execCommand, runScript, testCommand } from "./package-managers.js";

/** The commands to run after creating the project, one per line, from `cwd`. */
export function nextSteps(answers: Answers, directory: string, cwd: string): string[] {
  const pm = answers.packageManager;
  const folder = relative(cwd, directory) || ".";
  const steps: string[] = [];
  if (folder !== ".") steps.push(`cd ${/\s/.test(folder) ? JSON.stringify(folder) : folder}`);
  if (!answers.install) steps.push(`${pm} install`);
  if (answers.token === undefined) {
    steps.push(`${runScript(pm, "playground")}   # try the bot in the browser, no token needed`);
    steps.push("cp .env.example .env   # then set KAMIHI_TOKEN to your token from @BotFather");
  }
  steps.push(`${runScript(pm, "dev")}   # start the bot; send it /start on Telegram`);
  if (answers.adminId === undefined) {
    steps.push(`${execCommand(pm, "kamihi user add <your Telegram id> --admin")}`);
  }
  steps.push(`${testCommand(pm)}   # run the tests`);
  return steps;
}
