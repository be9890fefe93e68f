import { describe, expect, it } from 'vitest';
import { en } from '../i18n/en.js';
import { ru } from '../i18n/ru.js';
import { routingErrorText } from './format.js';

describe('/stats: the route estimate error line', () => {
  it('shows the mean error and the count per path, "—" for a path with none, in the admin language', () => {
    const n = { routing: { gpu: { count: 3, mapePct: 12.5 }, cpu: { count: 0, mapePct: null } } };
    expect(routingErrorText(n, en)).toBe('Route estimate error, last 24 h (mean |estimate − actual| / actual): GPU 12.5% × 3; CPU —');
    expect(routingErrorText(n, ru)).toBe('Ошибка оценки маршрута за 24 ч (среднее |оценка − факт| / факт): GPU 12.5% × 3; CPU —');
  });
});
