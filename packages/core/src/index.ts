/**
 * Ports (interfaces), shared types, error classes and tiny helpers that every Kamihi
 * package speaks. No I/O.
 *
 * @packageDocumentation
 */

// Errors
export {
  errorCodes,
  formatValidationIssue,
  formatValidationMessage,
  isKamihiError,
  isKamihiValidationError,
  KamihiError,
  KamihiValidationError,
} from "./errors.js";
export type { KamihiErrorCode, KamihiErrorOptions, ValidationIssue } from "./errors.js";

// Ports
export type {
  BaseFields,
  Collection,
  DeleteResult,
  Document,
  FieldCondition,
  FieldOperators,
  Filter,
  FindOneAndUpdateOptions,
  FindOptions,
  IndexSpec,
  Insertable,
  Sort,
  Store,
  Stored,
  UpdateFilter,
  UpdateOptions,
  UpdateResult,
} from "./store.js";
export type {
  BotCommand,
  BotInfo,
  CommandScope,
  DownloadedFile,
  InlineButton,
  InlineKeyboardMarkup,
  InputFile,
  LocationMessage,
  MediaGroupMessage,
  MediaMessage,
  MediaType,
  MessageOptions,
  MessageRef,
  OutgoingMessage,
  ParseMode,
  RemoveKeyboardMarkup,
  ReplyKeyboardMarkup,
  ReplyMarkup,
  TextFormat,
  TextMessage,
  Transport,
  UpdateContext,
  UpdateHandler,
  TransportStartOptions,
} from "./transport.js";
export type { TemplateEngine, TemplateSet } from "./templates.js";
export type {
  AccessChange,
  AccessControl,
  Decision,
  NewUser,
  Permission,
  Resolution,
  Role,
  User,
  UserPage,
  UserPatch,
  UserQuery,
  UserField,
  UserService,
  UserStatus,
} from "./users.js";
export type { StandardSchemaV1 } from "./standard-schema.js";
export type { ActionInfo, ActionRegistry, QuestionInfo } from "./actions.js";
export type { LogFn, Logger, LogLevel } from "./logger.js";
export { flushLogger, silentLogger } from "./logger.js";
export type { Settings } from "./settings.js";

// Telegram basics
export { summarizeUpdate } from "./update.js";
export type {
  CallbackQuery,
  Chat,
  ChatId,
  Message,
  TelegramUser,
  Update,
  UpdateKind,
  UpdateSummary,
} from "./update.js";
export { checkCommandName, COMMAND_PATTERN } from "./commands.js";

// Helpers
export { escapeMarkdown } from "./markdown.js";
export type { Clock } from "./clock.js";
export { systemClock } from "./clock.js";
export { assertNoOperators, literal } from "./literal.js";
export { redactTokens, redactUrlCredentials } from "./redact.js";
