using Glance.Grains.Storage;

namespace Glance.Storage.Tests;

/// <summary>
/// One test's embedded database: a fresh file in a temporary directory, opened as often as the test
/// likes (a reopen is a restart); disposing closes every instance and deletes the directory.
/// </summary>
public sealed class TestDatabase : IAsyncDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly List<SqliteDatabase> _opened = [];

    /// <summary>The database file.</summary>
    public string File => Path.Combine(_directory.Path, "glance.db");

    /// <summary>A new instance over the file.</summary>
    public SqliteDatabase Open()
    {
        var database = new SqliteDatabase(File);
        _opened.Add(database);
        return database;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        foreach (var database in _opened)
        {
            await database.DisposeAsync();
        }
        _directory.Dispose();
    }
}
