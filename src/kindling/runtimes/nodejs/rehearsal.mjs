// The stand-in handler a pre-started runtime loads and runs while it waits for its function (index.mjs).
export const handler = async (event, context) => ({ event, name: context.functionName });
