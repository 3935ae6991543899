// Remembers how long real deliveries take per channel, so that a send which delivers nothing (unknown
// alias, no address) can take about as long, and response time does not tell whether a user exists.
import type { Channel } from '../../core/model.js';

const SAMPLES = 64;

export class DeliveryLatency {
  private readonly samples = new Map<Channel, number[]>();

  record(channel: Channel, ms: number): void {
    let list = this.samples.get(channel);
    if (!list) this.samples.set(channel, (list = []));
    list.push(ms);
    if (list.length > SAMPLES) list.shift();
  }

  /** A duration drawn from the recent ones for the channel; 0 before any delivery was seen. */
  sample(channel: Channel, random: () => number = Math.random): number {
    const list = this.samples.get(channel);
    if (!list || list.length === 0) return 0;
    return list[Math.floor(random() * list.length)] ?? 0;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
