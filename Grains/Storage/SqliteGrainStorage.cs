using System.Text.Json;
using Orleans.Storage;

namespace Glance.Grains.Storage;

/// <summary>
/// Orleans grain storage on the embedded SQLite database: one row per grain state, with
/// an ETag checked on every write so two activations can never overwrite each other.
/// </summary>
public sealed class SqliteGrainStorage(SqliteDatabase database) : IGrainStorage
{
    /// <inheritdoc />
    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        database.ReadAsync(connection =>
        {
            using var command = SqliteDatabase.Command(connection,
                "SELECT etag, payload FROM grain_state WHERE state_name = $s AND grain_type = $t AND grain_key = $k",
                ("$s", stateName), ("$t", grainId.Type.ToString()), ("$k", grainId.Key.ToString()));
            using var reader = command.ExecuteReader();
            if (reader.Read())
            {
                grainState.ETag = reader.GetString(0);
                grainState.State = JsonSerializer.Deserialize<T>(reader.GetString(1), StorageJson.Options)!;
                grainState.RecordExists = true;
            }
            else
            {
                grainState.ETag = null;
                grainState.State = Activator.CreateInstance<T>();
                grainState.RecordExists = false;
            }
            return true;
        });

    /// <inheritdoc />
    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var payload = JsonSerializer.Serialize(grainState.State, StorageJson.Options);
        var expected = grainState.ETag;
        var next = Guid.NewGuid().ToString("N");
        await database.WriteAsync(connection =>
        {
            var changed = expected is null
                ? SqliteDatabase.Command(connection,
                    "INSERT INTO grain_state (state_name, grain_type, grain_key, etag, payload) VALUES ($s, $t, $k, $n, $p) ON CONFLICT DO NOTHING",
                    Keys(stateName, grainId, ("$n", next), ("$p", payload))).Run()
                : SqliteDatabase.Command(connection,
                    "UPDATE grain_state SET etag = $n, payload = $p WHERE state_name = $s AND grain_type = $t AND grain_key = $k AND etag = $e",
                    Keys(stateName, grainId, ("$n", next), ("$p", payload), ("$e", expected))).Run();
            return changed == 1 ? true : throw new InconsistentStateException(
                $"ETag mismatch writing {stateName} of {grainId}", storedEtag: "unknown", currentEtag: expected ?? "none");
        });
        grainState.ETag = next;
        grainState.RecordExists = true;
    }

    /// <inheritdoc />
    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var expected = grainState.ETag;
        await database.WriteAsync(connection =>
        {
            var changed = SqliteDatabase.Command(connection,
                "DELETE FROM grain_state WHERE state_name = $s AND grain_type = $t AND grain_key = $k AND ($e IS NULL OR etag = $e)",
                Keys(stateName, grainId, ("$e", expected))).Run();
            return changed == 1 || expected is null ? true : throw new InconsistentStateException(
                $"ETag mismatch clearing {stateName} of {grainId}", storedEtag: "unknown", currentEtag: expected);
        });
        grainState.ETag = null;
        grainState.RecordExists = false;
        grainState.State = Activator.CreateInstance<T>();
    }

    private static (string, object?)[] Keys(string stateName, GrainId grainId, params (string, object?)[] more) =>
        [("$s", stateName), ("$t", grainId.Type.ToString()), ("$k", grainId.Key.ToString()), .. more];
}

internal static class SqliteCommandExtensions
{
    /// <summary>Executes and disposes a non-query command, returning the rows changed.</summary>
    public static int Run(this Microsoft.Data.Sqlite.SqliteCommand command)
    {
        using (command)
        {
            return command.ExecuteNonQuery();
        }
    }
}
