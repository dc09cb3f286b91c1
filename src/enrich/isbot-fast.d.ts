// isbot-fast ships no types: this is its whole interface.
declare module 'isbot-fast' {
  interface IsBot {
    /** Whether the user agent names a bot, crawler, spider or download tool. */
    (userAgent: string): boolean;
    /** Adds words to the list the user agent is matched against. */
    extend(bots: readonly string[]): void;
  }
  const isBot: IsBot;
  export = isBot;
}
