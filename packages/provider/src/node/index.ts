/** `@gatehouse/provider/node`: the Node HTTP adapter and the `gatehouse` command line. */
export { runCli } from './cli.js';
export {
  createNodeHandler,
  type HandlerTarget,
  type NodeHandlerOptions,
  type StartedServer,
  startServer,
} from './server.js';
