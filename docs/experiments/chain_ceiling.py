import sqlite3, time, os, random
N = 30000
def run(rows_per_payment, path):
    for f in (path, path+'-wal', path+'-shm'):
        if os.path.exists(f): os.remove(f)
    c = sqlite3.connect(path, isolation_level=None)
    c.execute('pragma journal_mode=wal'); c.execute('pragma synchronous=full')
    c.execute('''CREATE TABLE saga_events(seq INTEGER PRIMARY KEY, payment_id TEXT NOT NULL, tenant TEXT NOT NULL,
      kind TEXT NOT NULL, step TEXT NOT NULL, attempt INTEGER NOT NULL, state TEXT NOT NULL, terminal INTEGER NOT NULL,
      at_ms INTEGER NOT NULL, data TEXT NOT NULL, publish INTEGER NOT NULL, UNIQUE(payment_id, kind, step, attempt))''')
    steps = ['', 'validate', 'screen', 'reserve', 'route', 'submit', 'await', 'post', 'notify']
    sizes = [297, 2, 2, 2, 14, 2, 2, 2, 14]
    rows = []
    for p in range(N):
        pid = 'pay_%032d' % p
        if rows_per_payment == 9:
            for i, s in enumerate(steps):
                rows.append((pid, 'bank1', 'step_ok' if i else 'received', s, 1, 'st', 0, 1000 + p, 'x' * sizes[i], 1))
        else:  # chains [received..route], [submit], [await, post, notify], each event ~60 bytes of framing
            for first, idx in ((0, range(0, 5)), (5, range(5, 6)), (6, range(6, 9))):
                blob = ''.join('k' * 60 + 'x' * sizes[i] for i in idx)
                rows.append((pid, 'bank1', 'step_ok' if first else 'received', steps[first], 1, 'st', 0, 1000 + p, blob, 1))
    # interleave as in the engine: payments in flight overlap (4000 at a time)
    random.seed(1)
    t = time.time()
    B = 1700
    for i in range(0, len(rows), B):
        c.execute('begin')
        c.executemany('INSERT INTO saga_events(payment_id, tenant, kind, step, attempt, state, terminal, at_ms, data, publish) VALUES(?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING', rows[i:i+B])
        c.execute('commit')
    dt = time.time() - t
    print(f'{rows_per_payment} rows/payment: {len(rows)/dt:,.0f} rows/s, {N/dt:,.0f} payments/s')
run(9, '/tmp/bs/c9.db'); run(3, '/tmp/bs/c3.db'); run(9, '/tmp/bs/c9.db'); run(3, '/tmp/bs/c3.db')
