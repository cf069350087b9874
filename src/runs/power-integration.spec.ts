import { integratePower } from './power-integration';

const S = 1000;

describe('energy from power samples', () => {
  it('integrates by trapezoids and holds the first and last readings to the span’s ends', () => {
    // 1,000 W rising to 2,000 W over 10 s: 15,000 J.
    expect(
      integratePower(
        [
          [0, 1000],
          [10 * S, 2000],
        ],
        0,
        10 * S,
        60 * S,
      ),
    ).toBeCloseTo(15_000, 9);
    // A span inside one segment: interpolated at its ends.
    expect(
      integratePower(
        [
          [0, 1000],
          [10 * S, 2000],
        ],
        5 * S,
        10 * S,
        60 * S,
      ),
    ).toBeCloseTo(((1500 + 2000) / 2) * 5, 9);
    // Samples from 2 s to 8 s of a 10 s span: the first and last readings held.
    expect(
      integratePower(
        [
          [2 * S, 100],
          [8 * S, 100],
        ],
        0,
        10 * S,
        60 * S,
      ),
    ).toBeCloseTo(1000, 9);
    // Samples around the span count for it.
    expect(
      integratePower(
        [
          [-5 * S, 100],
          [15 * S, 100],
        ],
        0,
        10 * S,
        60 * S,
      ),
    ).toBeCloseTo(1000, 9);
  });

  it('refuses samples that leave a gap or miss an end of the span', () => {
    expect(
      integratePower(
        [
          [0, 100],
          [400 * S, 100],
        ],
        0,
        400 * S,
        300 * S,
      ),
    ).toBeNull();
    expect(
      integratePower(
        [
          [350 * S, 100],
          [400 * S, 100],
        ],
        0,
        400 * S,
        300 * S,
      ),
    ).toBeNull();
    expect(
      integratePower(
        [
          [0, 100],
          [50 * S, 100],
        ],
        0,
        400 * S,
        300 * S,
      ),
    ).toBeNull();
    expect(integratePower([], 0, 10 * S, 300 * S)).toBeNull();
    expect(integratePower([[-400 * S, 100]], 0, 10 * S, 300 * S)).toBeNull();
  });
});
