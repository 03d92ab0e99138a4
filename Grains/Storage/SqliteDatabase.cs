using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;

namespace Glance.Grains.Storage;

/// <summary>
/// The embedded profile's database: one SQLite file in WAL mode. Reads use pooled
/// connections and run concurrently; writes go through one writer that commits whatever
/// is queued in a single transaction ("group commit"), so many grains writing at once cost
/// one commit instead of one each, and never contend for SQLite's write lock.
/// </summary>
public sealed class SqliteDatabase : IAsyncDisposable
{
    private const int MaxBatch = 512;

    private readonly string _connectionString;
    private readonly Channel<Write> _writes = Channel.CreateUnbounded<Write>(new() { SingleReader = true });
    private readonly Task _writer;

    // The writer's connection keeps the statements it ran prepared, by their SQL: its writes are a
    // few dozen texts, each otherwise prepared again for every write (an image create runs about 20).
    private static readonly ConditionalWeakTable<SqliteConnection, Statements> Prepared = new();

    /// <summary>Opens (creating if needed) the database file and its schema.</summary>
    public SqliteDatabase(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        _connectionString = new SqliteConnectionStringBuilder { DataSource = path, Pooling = true }.ToString();
        using (var connection = Open())
        {
            Execute(connection, """
                PRAGMA journal_mode = WAL;
                CREATE TABLE IF NOT EXISTS grain_state (
                    state_name TEXT NOT NULL,
                    grain_type TEXT NOT NULL,
                    grain_key  TEXT NOT NULL,
                    etag       TEXT NOT NULL,
                    payload    TEXT NOT NULL,
                    PRIMARY KEY (state_name, grain_type, grain_key));
                CREATE TABLE IF NOT EXISTS catalog_entry (
                    image_id TEXT PRIMARY KEY,
                    shard    INTEGER NOT NULL,
                    version  INTEGER NOT NULL,
                    entry    TEXT NULL);
                CREATE INDEX IF NOT EXISTS catalog_entry_by_shard ON catalog_entry (shard);
                CREATE TABLE IF NOT EXISTS property_set (
                    image_id TEXT PRIMARY KEY,
                    version  INTEGER NOT NULL);
                CREATE TABLE IF NOT EXISTS image_property (
                    image_id TEXT NOT NULL,
                    name     TEXT NOT NULL,
                    property TEXT NOT NULL,
                    PRIMARY KEY (image_id, name));
                CREATE TABLE IF NOT EXISTS catalog_property (
                    image_id TEXT NOT NULL,
                    name     TEXT NOT NULL,
                    value    TEXT NOT NULL,
                    access   TEXT NULL,
                    PRIMARY KEY (image_id, name));
                CREATE TABLE IF NOT EXISTS catalog_layout (
                    id     INTEGER PRIMARY KEY CHECK (id = 0),
                    shards INTEGER NOT NULL,
                    spread INTEGER NOT NULL);
                """);
        }
        _writer = Task.Factory.StartNew(WriteLoopAsync, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    /// <summary>Runs a read on its own pooled connection.</summary>
    public Task<T> ReadAsync<T>(Func<SqliteConnection, T> read) =>
        // SQLite calls block: on the thread pool, not the caller's grain scheduler (a Task.Yield inside
        // a grain would come back to that scheduler, and a shard's first load held its turn for seconds).
        Task.Run(() =>
        {
            using var connection = Open();
            return read(connection);
        });

    /// <summary>Queues a write; completes once the transaction holding it has committed.</summary>
    public Task<T> WriteAsync<T>(Func<SqliteConnection, T> write)
    {
        var pending = new Write<T>(write);
        if (!_writes.Writer.TryWrite(pending))
        {
            throw new ObjectDisposedException(nameof(SqliteDatabase));
        }
        return pending.Completion.Task;
    }

    /// <summary>Runs SQL that returns nothing (on the writer's connection, a statement prepared once).</summary>
    public static void Execute(SqliteConnection connection, string sql, params (string Name, object? Value)[] parameters)
    {
        if (Prepared.TryGetValue(connection, out var statements))
        {
            statements.Execute(sql, parameters);
            return;
        }
        using var command = Command(connection, sql, parameters);
        command.ExecuteNonQuery();
    }

    /// <summary>A command with named parameters (nulls become DBNull).</summary>
    public static SqliteCommand Command(SqliteConnection connection, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }
        return command;
    }

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        // NORMAL is durable across a process crash in WAL mode; only power loss can lose the last commits.
        Execute(connection, "PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;");
        return connection;
    }

    private async Task WriteLoopAsync()
    {
        using var connection = Open();
        using var statements = new Statements(connection);
        Prepared.Add(connection, statements);
        var batch = new List<Write>(MaxBatch);
        while (await _writes.Reader.WaitToReadAsync())
        {
            while (batch.Count < MaxBatch && _writes.Reader.TryRead(out var write))
            {
                batch.Add(write);
            }
            try
            {
                using (var transaction = statements.Begin())
                {
                    foreach (var write in batch)
                    {
                        // A savepoint per write: one failing write does not undo its neighbours.
                        Execute(connection, "SAVEPOINT w");
                        try
                        {
                            write.Run(connection);
                            Execute(connection, "RELEASE w");
                        }
                        catch (Exception e)
                        {
                            Execute(connection, "ROLLBACK TO w; RELEASE w");
                            write.Fail(e);
                        }
                    }
                    transaction.Commit();
                }
                foreach (var write in batch)
                {
                    write.Complete();
                }
            }
            catch (Exception e)
            {
                foreach (var write in batch)
                {
                    write.Fail(e);
                }
            }
            batch.Clear();
        }
    }

    /// <summary>Finishes queued writes, then closes.</summary>
    public async ValueTask DisposeAsync()
    {
        _writes.Writer.TryComplete();
        await _writer;
        SqliteConnection.ClearAllPools();
    }

    /// <summary>The writer connection's prepared statements, bound to its current transaction.</summary>
    private sealed class Statements(SqliteConnection connection) : IDisposable
    {
        private const int MaxStatements = 256;
        private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);
        private SqliteTransaction? _transaction;

        public SqliteTransaction Begin() => _transaction = connection.BeginTransaction();

        public void Execute(string sql, (string Name, object? Value)[] parameters)
        {
            if (!_commands.TryGetValue(sql, out var command))
            {
                if (_commands.Count >= MaxStatements)
                {
                    // Not a text the writes repeat (they are literals): run it once, unkept.
                    using var once = Command(connection, sql, parameters);
                    once.Transaction = _transaction;
                    once.ExecuteNonQuery();
                    return;
                }
                command = Command(connection, sql, parameters);
                _commands[sql] = command;
            }
            else
            {
                for (var i = 0; i < parameters.Length; i++)
                {
                    command.Parameters[parameters[i].Name].Value = parameters[i].Value ?? DBNull.Value;
                }
            }
            command.Transaction = _transaction;
            command.ExecuteNonQuery();
        }

        public void Dispose()
        {
            foreach (var command in _commands.Values)
            {
                command.Dispose();
            }
        }
    }

    private abstract class Write
    {
        public abstract void Run(SqliteConnection connection);
        public abstract void Complete();
        public abstract void Fail(Exception exception);
    }

    private sealed class Write<T>(Func<SqliteConnection, T> work) : Write
    {
        private T? _result;
        private bool _failed;

        public TaskCompletionSource<T> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override void Run(SqliteConnection connection) => _result = work(connection);

        public override void Complete()
        {
            if (!_failed)
            {
                Completion.TrySetResult(_result!);
            }
        }

        public override void Fail(Exception exception)
        {
            _failed = true;
            Completion.TrySetException(exception);
        }
    }
}
