import { logLevelOf } from './log-levels';

describe('log levels', () => {
  it.each([
    ['2026-11-21 09:00:00,123 - trainer - ERROR - CUDA out of memory', 'ERROR'],
    ['2026-11-21 09:00:00,123 - trainer - WARNING - loader slow', 'WARN'],
    ['2026-11-21 09:00:00,123 - torch.distributed - INFO - rank 0 ready', 'INFO'],
    ['2026-11-21 09:00:00,123 - DEBUG - step 12', 'DEBUG'],
    ['ERROR:trainer:checkpoint failed', 'ERROR'],
    ['WARNING:root:no GPU affinity', 'WARN'],
    ['CRITICAL:trainer:NCCL timeout', 'ERROR'],
    ['INFO:trainer:epoch 1 done', 'INFO'],
    ['2026-11-21T09:00:00Z WARN slow read', 'WARN'],
    ['[2026-11-21 09:00:00] [ERROR] stopped', 'ERROR'],
    ['[2026-11-21 09:00:00][rank0][info] hello', 'INFO'],
    ['<warn> throttled', 'WARN'],
    ['time=2026-11-21T09:00:00Z level=error msg="disk full"', 'ERROR'],
    ['{"time":"2026-11-21T09:00:00Z","level":"debug","msg":"x"}', 'DEBUG'],
    ['fatal: unable to open', 'ERROR'],
  ])('reads %s as %s', (line, level) => {
    expect(logLevelOf(line)).toBe(level);
  });

  it.each([
    'Traceback (most recent call last):',
    '  File "train.py", line 12, in <module>',
    'epoch 1: 100%|██████████| 5000/5000 [06:04<00:00, 13.7it/s]',
    'no error occurred during INFO collection',
    'Errors: 0',
    '',
  ])('finds no level in %j', (line) => {
    expect(logLevelOf(line)).toBeNull();
  });

  it('reads the level where the format puts it, not from words in the message', () => {
    expect(logLevelOf('2026-11-21 09:00:00,123 - trainer - INFO - no ERROR here')).toBe('INFO');
    expect(logLevelOf('INFO:trainer:recovered from error')).toBe('INFO');
  });
});
