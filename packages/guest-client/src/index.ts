export {
  GuestClient,
  GuestRpcError,
  GuestTimeoutError,
  type CallOptions,
  type CastOptions,
  type GuestClientOptions,
} from './guest-client';
