/**
 * Test Telegram bots without Telegram: a Bot API emulator, test chats and the playground.
 *
 * @packageDocumentation
 */

export {};
