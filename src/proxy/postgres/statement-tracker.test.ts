import { describe, expect, it } from 'vitest';
import type { StatementEvent } from './engine.types.js';
import { StatementTracker } from './statement-tracker.js';

function tracker() {
  const events: StatementEvent[] = [];
  let t = 0;
  const tr = new StatementTracker(
    (e) => events.push(e),
    () => (t += 5),
  );
  return { tr, events };
}

describe('StatementTracker', () => {
  it('records a simple query with its last tag at ReadyForQuery', () => {
    const { tr, events } = tracker();
    tr.query('insert into t values (1); select * from t');
    tr.commandComplete('INSERT 0 1');
    tr.commandComplete('SELECT 3');
    expect(events).toHaveLength(0);
    tr.readyForQuery();
    expect(events).toEqual([
      {
        statement: 'insert into t values (1); select * from t',
        paramCount: 0,
        commandTag: 'SELECT 3',
        rows: 3,
        durationMs: 5,
        error: null,
      },
    ]);
  });

  it('knows while the server still owes an answer', () => {
    const { tr } = tracker();
    tr.parse('', 'select pg_sleep(1)');
    tr.bind('', '', 0);
    expect(tr.busy).toBe(false);
    tr.execute('');
    expect(tr.busy).toBe(true); // an Execute after a Flush, no Sync yet
    tr.commandComplete('SELECT 1');
    expect(tr.busy).toBe(false);
    tr.execute('');
    tr.sync();
    tr.error('57014', 'canceling statement due to user request');
    expect(tr.busy).toBe(true); // the Sync's ReadyForQuery is still to come
    tr.readyForQuery();
    expect(tr.busy).toBe(false);
    tr.query('select 1');
    expect(tr.busy).toBe(true);
    tr.readyForQuery();
    expect(tr.busy).toBe(false);
  });

  it('pairs pipelined simple queries with their answers', () => {
    const { tr, events } = tracker();
    tr.query('select 1');
    tr.query('select nope');
    tr.query('insert into t values (1)');
    tr.commandComplete('SELECT 1');
    tr.readyForQuery();
    tr.error('42703', 'column "nope" does not exist');
    tr.readyForQuery();
    tr.commandComplete('INSERT 0 1');
    tr.readyForQuery();
    expect(events.map((e) => [e.statement, e.commandTag, e.error])).toEqual([
      ['select 1', 'SELECT 1', null],
      ['select nope', null, '42703: column "nope" does not exist'],
      ['insert into t values (1)', 'INSERT 0 1', null],
    ]);
  });

  it('in a pipeline with a Sync per statement, an error skips only up to its own Sync', () => {
    const { tr, events } = tracker();
    const send = (text: string) => {
      tr.parse('', text);
      tr.bind('', '', 0);
      tr.execute('');
    };
    send('select 1/0');
    send('select 2');
    tr.sync();
    send('select 3');
    tr.sync();
    // Answers: error (skips 'select 2' up to the first Sync), Z, then 'select 3' and its Z.
    tr.error('22012', 'division by zero');
    tr.readyForQuery();
    tr.commandComplete('SELECT 1');
    tr.readyForQuery();
    expect(events.map((e) => [e.statement, e.commandTag, e.error])).toEqual([
      ['select 1/0', null, '22012: division by zero'],
      ['select 3', 'SELECT 1', null],
    ]);
    expect(tr.busy).toBe(false);
  });

  it('records an error of a simple query', () => {
    const { tr, events } = tracker();
    tr.query('select nope');
    tr.error('42703', 'column "nope" does not exist');
    tr.readyForQuery();
    expect(events[0]).toMatchObject({
      commandTag: null,
      rows: null,
      error: '42703: column "nope" does not exist',
    });
  });

  it('pairs pipelined executes with their completions and named statements', () => {
    const { tr, events } = tracker();
    tr.parse('s1', 'select $1::int');
    tr.bind('', 's1', 1);
    tr.execute('');
    tr.parse('', 'update t set a = $1 where b = $2');
    tr.bind('p2', '', 2);
    tr.execute('p2');
    tr.commandComplete('SELECT 1');
    tr.commandComplete('UPDATE 4');
    tr.readyForQuery();
    expect(events.map((e) => [e.statement, e.paramCount, e.commandTag, e.rows])).toEqual([
      ['select $1::int', 1, 'SELECT 1', 1],
      ['update t set a = $1 where b = $2', 2, 'UPDATE 4', 4],
    ]);
  });

  it('after an error, the rest of the pipeline until Sync is discarded', () => {
    const { tr, events } = tracker();
    tr.parse('', 'select 1/0');
    tr.bind('', '', 0);
    tr.execute('');
    tr.parse('', 'select 2');
    tr.bind('', '', 0);
    tr.execute('');
    tr.error('22012', 'division by zero');
    tr.readyForQuery();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ statement: 'select 1/0', error: '22012: division by zero' });
    tr.bind('', '', 0);
    tr.execute('');
    tr.commandComplete('SELECT 1');
    expect(events[1]).toMatchObject({ statement: 'select 2', commandTag: 'SELECT 1' });
  });

  it('ends an execute on EmptyQueryResponse or PortalSuspended', () => {
    const { tr, events } = tracker();
    tr.parse('', '');
    tr.bind('', '', 0);
    tr.execute('');
    tr.executeEnded();
    expect(events[0]).toMatchObject({ statement: '', commandTag: null });
  });

  it('forgets closed statements', () => {
    const { tr, events } = tracker();
    tr.parse('s', 'select 1');
    tr.close(0x53, 's');
    tr.bind('', 's', 0);
    tr.execute('');
    tr.commandComplete('SELECT 1');
    expect(events[0]!.statement).toBe('');
  });

  it('measures durations to the microsecond', () => {
    const events: StatementEvent[] = [];
    const clock = [1000.0000004, 1002.1234567, 1002.5, 1002.5];
    const tr = new StatementTracker(
      (e) => events.push(e),
      () => clock.shift()!,
    );
    tr.query('select 1');
    tr.readyForQuery();
    tr.query('select 2');
    tr.readyForQuery();
    expect(events.map((e) => e.durationMs)).toEqual([2.123, 0]);
  });

  it('keeps order through a pipeline that never empties, however long', () => {
    const { tr, events } = tracker();
    let sent = 0;
    let answered = 0;
    const send = (n: number) => {
      for (let i = 0; i < n; i++) tr.query(`select ${sent++}`);
    };
    const answer = (n: number) => {
      for (let i = 0; i < n; i++) {
        tr.commandComplete(`SELECT ${answered++}`);
        tr.readyForQuery();
      }
    };
    // Always a few hundred requests ahead of the answers, over several thousand statements.
    send(300);
    for (let round = 0; round < 20; round++) {
      answer(250);
      send(250);
    }
    expect(tr.busy).toBe(true);
    answer(300);
    expect(tr.busy).toBe(false);
    expect(events).toHaveLength(5300);
    events.forEach((e, i) => {
      expect(e.statement).toBe(`select ${i}`);
      expect(e.rows).toBe(i);
    });
  });

  it('tells named statements and portals from the unnamed ones', () => {
    const { tr, events } = tracker();
    tr.parse('', 'select $1');
    tr.parse('s1', 'select $1, $2');
    tr.bind('p1', 's1', 2);
    tr.bind('', '', 1);
    tr.execute('p1');
    tr.execute('');
    tr.close(0x50, 'p1');
    tr.execute('p1');
    tr.close(0x53, '');
    tr.bind('', '', 0);
    tr.execute('');
    tr.sync();
    for (let i = 0; i < 4; i++) tr.commandComplete('SELECT 1');
    tr.readyForQuery();
    expect(events.map((e) => [e.statement, e.paramCount])).toEqual([
      ['select $1, $2', 2],
      ['select $1', 1],
      ['', 0],
      ['', 0],
    ]);
  });
});
