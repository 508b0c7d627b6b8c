import { ConfigError, loadConfig } from '../../src/config';

describe('drill configuration', () => {
  it('defaults: no schedule, channels stale after 35 days', () => {
    expect(loadConfig({})).toMatchObject({ drillSchedule: undefined, channelStaleDays: 35 });
  });

  it('takes a cron expression, and stops on one that is not, naming the variable', () => {
    expect(loadConfig({ TOCSIN_DRILL_SCHEDULE: '0 9 1 * *', TOCSIN_CHANNEL_STALE_DAYS: '7.5' })).toMatchObject({ drillSchedule: '0 9 1 * *', channelStaleDays: 7.5 });
    expect(() => loadConfig({ TOCSIN_DRILL_SCHEDULE: 'monthly please' })).toThrow(ConfigError);
    expect(() => loadConfig({ TOCSIN_DRILL_SCHEDULE: 'monthly please' })).toThrow(/TOCSIN_DRILL_SCHEDULE: not a cron expression/);
    expect(() => loadConfig({ TOCSIN_CHANNEL_STALE_DAYS: '0' })).toThrow(/TOCSIN_CHANNEL_STALE_DAYS/);
  });
});
