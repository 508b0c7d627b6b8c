import diagnostics from 'node:diagnostics_channel';
import { isIPv4, type Socket } from 'node:net';

export interface ConnectionAttempt {
  address: string;
  port: number;
}

const SOCKET_CHANNEL = 'net.client.socket';

/** True for 127.0.0.0/8 (also written IPv4-mapped) and ::1, as Node reports a dialled address. */
export function isLoopback(address: string): boolean {
  const v4 = address.replace(/^::ffff:/i, '');
  return (isIPv4(v4) && v4.startsWith('127.')) || address === '::1';
}

/**
 * Records every TCP connection this process dials, by the address dialled (after DNS), through
 * Node's own `net.client.socket` diagnostics channel and the socket's `connectionAttempt` event:
 * evidence of where a connection went without replacing any code under test. A lookup refused by
 * the address guard dials nothing, so it records nothing.
 */
export function watchConnectionAttempts() {
  const attempts: ConnectionAttempt[] = [];
  const onSocket = (message: unknown) => {
    const { socket } = message as { socket: Socket };
    socket.on('connectionAttempt', (address: string, port: number) => attempts.push({ address, port }));
  };
  diagnostics.subscribe(SOCKET_CHANNEL, onSocket);
  return {
    attempts,
    stop: () => diagnostics.unsubscribe(SOCKET_CHANNEL, onSocket),
  };
}
