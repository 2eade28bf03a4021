import fastifyStatic from "@fastify/static";
import fastifyView from "@fastify/view";
import { Eta } from "eta";
import type { FastifyInstance } from "fastify";
import { PUBLIC, VIEWS } from "../assets.js";

/** The stylesheet under `/static/`, and the Eta views (escaped by default) the pages render. */
export async function registerViews(app: FastifyInstance): Promise<void> {
  await app.register(fastifyStatic, { root: PUBLIC, prefix: "/static/", decorateReply: false });
  await app.register(fastifyView, {
    engine: { eta: new Eta({ views: VIEWS, autoEscape: true, cache: true }) },
    root: VIEWS,
    // The views ship with the package: compiled once, not read and compiled for every page
    // (@fastify/view otherwise turns Eta's cache off unless NODE_ENV is production).
    production: true,
  });
}
