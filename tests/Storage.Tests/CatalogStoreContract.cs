using System.Collections.Immutable;
using System.Text;
using System.Text.Json;
using Azure.Data.Tables;
using Glance.Grains.Catalog;
using Glance.Grains.Images;
using Glance.Grains.Properties;
using Glance.Grains.Storage;
using Microsoft.Data.Sqlite;

namespace Glance.Storage.Tests;

/// <summary>
/// What every <see cref="ICatalogStore"/> must do, written once and run against each store
/// (<see cref="SqliteCatalogStoreTests"/>, <see cref="AzureTableCatalogStoreTests"/>): entries with
/// their properties (public and restricted) round-trip per shard and across instances; a write wins
/// only over an older version and leaves exactly its entry, also when writers race; a tombstone
/// takes the properties with it; entries stored before properties had rows of their own still load
/// and move to rows on their next write; and a write stores only the properties that changed.
/// </summary>
public abstract class CatalogStoreContract
{
    /// <summary>The store under test, empty at the start of each test.</summary>
    protected abstract ICatalogStore Store { get; }

    /// <summary>A new instance over the same storage (as after a restart).</summary>
    protected abstract ICatalogStore Reopen();

    /// <summary>Stores <paramref name="entry"/> as the store did before properties had rows: all of it in the entry's row.</summary>
    protected abstract Task InsertLegacyAsync(long shard, CatalogEntry entry);

    /// <summary>
    /// What <paramref name="write"/> wrote (added, replaced or deleted) in the shard: an entry's own row
    /// as its <see cref="SqliteCatalogStore.Key"/>, a property's as that key, a slash and its name.
    /// </summary>
    protected abstract Task<IReadOnlySet<string>> WrittenByAsync(long shard, Func<Task> write);

    private static readonly PropertyAccess Restricted = new(PropertyVisibility.Private, "p-property-owner");

    protected static CatalogEntry Entry(Guid id, long version, IEnumerable<(string Name, string Value, PropertyAccess? Access)> properties) => new(
        new ImageRecord
        {
            Id = id,
            Name = $"image-{version}",
            Status = ImageStatus.Active,
            Visibility = ImageVisibility.Shared,
            Owner = "p-owner",
            Size = 1024 * version,
            Tags = ["web", $"v{version}"],
            CreatedAt = new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero),
            UpdatedAt = new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero).AddMinutes(version),
            Properties = ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, properties.Select(p => KeyValuePair.Create(p.Name, p.Value))),
            PropertyAccess = properties.Where(p => p.Access is not null).ToImmutableDictionary(p => p.Name, p => p.Access!),
        },
        ImmutableDictionary<string, MemberStatus>.Empty.Add("p-member", MemberStatus.Accepted),
        version);

    protected static CatalogEntry Entry(Guid id, long version, params (string Name, string Value)[] properties) =>
        Entry(id, version, properties.Select(p => (p.Name, p.Value, (PropertyAccess?)null)));

    private static IEnumerable<(string, string, PropertyAccess?)> Many(string prefix, int count, string value = "v") =>
        Enumerable.Range(0, count).Select(i => ($"{prefix}{i:D3}", $"{value}-{i}", i % 10 == 0 ? Restricted : (PropertyAccess?)null));

    // Properties in name order and access as pairs: the dictionaries' own order is not part of the entry.
    private static string Json(CatalogEntry entry) => JsonSerializer.Serialize(new
    {
        Core = entry with { Image = entry.Image with { Properties = ImmutableSortedDictionary<string, string>.Empty, PropertyAccess = ImmutableDictionary<string, PropertyAccess>.Empty } },
        Properties = entry.Image.Properties.OrderBy(p => p.Key, StringComparer.Ordinal).ToArray(),
        Access = entry.Image.PropertyAccess.OrderBy(p => p.Key, StringComparer.Ordinal).ToArray(),
    }, StorageJson.Options);

    private static void AssertEntries(IEnumerable<CatalogEntry> expected, IEnumerable<CatalogEntry> actual) =>
        Assert.Equal(expected.Select(Json).Order(StringComparer.Ordinal), actual.Select(Json).Order(StringComparer.Ordinal));

    private static string Row(Guid id, string? property = null) =>
        property is null ? SqliteCatalogStore.Key(id) : $"{SqliteCatalogStore.Key(id)}/{property}";

    [Fact]
    public async Task Entries_with_public_and_restricted_properties_round_trip_per_shard()
    {
        var a = Entry(Guid.NewGuid(), 1, [("os_distro", "ubuntu", null), ("secret", "s3cr3t", Restricted), ("admin_only", "x", new PropertyAccess(PropertyVisibility.Admin, null))]);
        var b = Entry(Guid.NewGuid(), 3, Many("p", 20));
        var c = Entry(Guid.NewGuid(), 2);
        Assert.Empty(await Store.LoadShardAsync(7));

        await Store.UpsertAsync(7, a);
        await Store.UpsertAsync(7, b);
        await Store.UpsertAsync(8, c);

        AssertEntries([a, b], await Store.LoadShardAsync(7));
        AssertEntries([c], await Store.LoadShardAsync(8));
        Assert.Empty(await Store.LoadShardAsync(9));
        var reopened = Reopen();
        AssertEntries([a, b], await reopened.LoadShardAsync(7));
        AssertEntries([c], await reopened.LoadShardAsync(8));
        var loaded = Assert.Single(await reopened.LoadShardAsync(7), e => e.Image.Id == a.Image.Id);
        Assert.Equal(Restricted, loaded.Image.PropertyAccess["secret"]);
        Assert.False(loaded.Image.PropertyAccess.ContainsKey("os_distro"));
    }

    [Fact]
    public async Task Changing_adding_and_removing_properties_leaves_exactly_the_new_entry()
    {
        var id = Guid.NewGuid();
        var other = Entry(Guid.NewGuid(), 4, Many("o", 5));
        await Store.UpsertAsync(1, other);
        await Store.UpsertAsync(1, Entry(id, 1, [("kept", "k", null), ("changed", "old", null), ("removed", "r", Restricted), ("opened", "o", Restricted)]));

        var updated = Entry(id, 2, [("kept", "k", null), ("changed", "new", null), ("added", "a", Restricted), ("opened", "o", null)]);
        await Store.UpsertAsync(1, updated);

        AssertEntries([other, updated], await Store.LoadShardAsync(1));
        AssertEntries([other, updated], await Reopen().LoadShardAsync(1));
        // Down to no properties at all, and back.
        var bare = Entry(id, 3);
        await Store.UpsertAsync(1, bare);
        AssertEntries([other, bare], await Store.LoadShardAsync(1));
    }

    [Fact]
    public async Task Only_a_newer_version_replaces_an_entry_and_its_properties()
    {
        var id = Guid.NewGuid();
        var stored = Entry(id, 5, ("a", "5"), ("b", "5"));
        await Store.UpsertAsync(1, stored);

        await Store.UpsertAsync(1, Entry(id, 4, ("a", "4"), ("c", "4")));
        await Store.UpsertAsync(1, Entry(id, 5, ("a", "same version"), ("d", "same version")));
        AssertEntries([stored], await Store.LoadShardAsync(1));

        var newer = Entry(id, 6, ("b", "6"), ("e", "6"));
        await Store.UpsertAsync(1, newer);
        AssertEntries([newer], await Store.LoadShardAsync(1));
    }

    [Fact]
    public async Task A_tombstone_removes_the_entry_and_its_properties_and_older_writes_do_not_revive_it()
    {
        var (id, other) = (Guid.NewGuid(), Entry(Guid.NewGuid(), 1, ("x", "y")));
        await Store.UpsertAsync(2, Entry(id, 3, Many("p", 10)));
        await Store.UpsertAsync(2, other);

        await Store.RemoveAsync(2, id, 4);
        AssertEntries([other], await Store.LoadShardAsync(2));

        // A late write of an older (or the same) version does not bring it back ...
        await Store.UpsertAsync(2, Entry(id, 3, Many("p", 10)));
        await Store.UpsertAsync(2, Entry(id, 4, Many("p", 10)));
        AssertEntries([other], await Store.LoadShardAsync(2));
        // ... a newer one does, with its own properties only ...
        var revived = Entry(id, 5, ("p000", "new"));
        await Store.UpsertAsync(2, revived);
        AssertEntries([other, revived], await Store.LoadShardAsync(2));
        // ... and an older tombstone does not undo it.
        await Store.RemoveAsync(2, id, 4);
        AssertEntries([other, revived], await Reopen().LoadShardAsync(2));
    }

    [Fact]
    public async Task A_removal_that_arrives_first_still_wins_over_older_writes()
    {
        var id = Guid.NewGuid();
        await Store.RemoveAsync(3, id, 10);

        await Store.UpsertAsync(3, Entry(id, 9, ("a", "b")));

        Assert.Empty(await Store.LoadShardAsync(3));
    }

    [Fact]
    public async Task Racing_writers_leave_the_newest_entry_with_its_properties()
    {
        var id = Guid.NewGuid();
        var versions = Enumerable.Range(1, 12).Select(v => (long)v).OrderBy(_ => Random.Shared.Next()).ToList();
        // Each version has properties of its own and shares some with the others, with other values.
        var entries = versions.ToDictionary(v => v, v => Entry(id, v, Many($"v{v}-", 3).Concat(Many("shared", 4, $"{v}"))));

        await Task.WhenAll(versions.Select(v => Task.Run(() => Store.UpsertAsync(4, entries[v]))));

        AssertEntries([entries[12]], await Store.LoadShardAsync(4));
    }

    [Fact]
    public async Task Racing_writers_of_diffs_larger_than_a_transaction_leave_the_newest_entry()
    {
        var id = Guid.NewGuid();
        await Store.UpsertAsync(4, Entry(id, 1, Many("first", 128)));
        var versions = Enumerable.Range(2, 6).Select(v => (long)v).OrderBy(_ => Random.Shared.Next()).ToList();
        var entries = versions.ToDictionary(v => v, v => Entry(id, v, Many($"v{v}-", 128 - (int)v)));

        await Task.WhenAll(versions.Select(v => Task.Run(() => Store.UpsertAsync(4, entries[v]))));

        AssertEntries([entries[7]], await Store.LoadShardAsync(4));
    }

    [Fact]
    public async Task Large_values_and_any_names_round_trip()
    {
        // 65,535 UTF-8 bytes (Glance's largest value), over one table property's 64 KiB; names with
        // characters a table row key may not hold, and one longer than a row key in hex.
        var large = string.Concat(Enumerable.Repeat("é", 32_767)) + "a";
        Assert.Equal(65_535, Encoding.UTF8.GetByteCount(large));
        var longName = new string('ü', 300);
        var entry = Entry(Guid.NewGuid(), 1, [("large", large, null), ("a/b\\c#d?e\u0001f\u007f", "odd", Restricted), (longName, "long", null), ("", "empty name", null), ("empty", "", null)]);

        await Store.UpsertAsync(5, entry);

        AssertEntries([entry], await Store.LoadShardAsync(5));
        var changed = Entry(entry.Image.Id, 2, [("large", large[..^1] + "b", null), (longName, "longer", Restricted)]);
        await Store.UpsertAsync(5, changed);
        AssertEntries([changed], await Reopen().LoadShardAsync(5));
    }

    [Fact]
    public async Task Replacing_128_properties_by_128_others_round_trips()
    {
        var id = Guid.NewGuid();
        var first = Entry(id, 1, Many("first", 128));
        await Store.UpsertAsync(6, first);
        AssertEntries([first], await Store.LoadShardAsync(6));

        var second = Entry(id, 2, Many("second", 128));
        await Store.UpsertAsync(6, second);
        AssertEntries([second], await Store.LoadShardAsync(6));

        await Store.RemoveAsync(6, id, 3);
        Assert.Empty(await Store.LoadShardAsync(6));
        var third = Entry(id, 4, Many("third", 2));
        await Store.UpsertAsync(6, third);
        AssertEntries([third], await Reopen().LoadShardAsync(6));
    }

    [Fact]
    public async Task A_legacy_entry_loads_with_its_properties_and_moves_to_rows_on_its_next_write()
    {
        var (id, other) = (Guid.NewGuid(), Entry(Guid.NewGuid(), 1, ("x", "y")));
        var legacy = Entry(id, 3, [("kept", "k", null), ("changed", "old", Restricted), ("dropped", "d", null)]);
        await InsertLegacyAsync(7, legacy);
        await Store.UpsertAsync(7, other);

        AssertEntries([legacy, other], await Store.LoadShardAsync(7));

        var written = await WrittenByAsync(7, () => Store.UpsertAsync(7,
            Entry(id, 4, [("kept", "k", null), ("changed", "new", Restricted), ("dropped", "d", null)])));
        // No rows were stored, so every property is written.
        Assert.Equal(new[] { Row(id), Row(id, "changed"), Row(id, "dropped"), Row(id, "kept") }.Order(StringComparer.Ordinal), written.Order(StringComparer.Ordinal));
        var updated = Entry(id, 5, [("kept", "k", null), ("changed", "new", null)]);
        await Store.UpsertAsync(7, updated);

        // A property left in the old row would show through here.
        AssertEntries([updated, other], await Store.LoadShardAsync(7));
        AssertEntries([updated, other], await Reopen().LoadShardAsync(7));
    }

    [Fact]
    public async Task Changing_one_property_of_a_hundred_writes_that_property_and_the_entry_only()
    {
        var (id, neighbour) = (Guid.NewGuid(), Entry(Guid.NewGuid(), 1, Many("n", 10)));
        await Store.UpsertAsync(8, neighbour);
        var properties = Many("p", 100, new string('v', 500)).ToList();
        var written = await WrittenByAsync(8, () => Store.UpsertAsync(8, Entry(id, 1, properties)));
        Assert.Equal(101, written.Count);

        properties[42] = ("p042", "changed", null);
        written = await WrittenByAsync(8, () => Store.UpsertAsync(8, Entry(id, 2, properties)));
        Assert.Equal(new[] { Row(id), Row(id, "p042") }.Order(StringComparer.Ordinal), written.Order(StringComparer.Ordinal));

        properties.RemoveAt(7);
        written = await WrittenByAsync(8, () => Store.UpsertAsync(8, Entry(id, 3, properties)));
        Assert.Equal(new[] { Row(id), Row(id, "p007") }.Order(StringComparer.Ordinal), written.Order(StringComparer.Ordinal));

        // Nothing at all for an older version; the entry alone when only the core changed.
        Assert.Empty(await WrittenByAsync(8, () => Store.UpsertAsync(8, Entry(id, 2, Many("q", 3)))));
        var latest = Entry(id, 4, properties);
        Assert.Equal([Row(id)], await WrittenByAsync(8, () => Store.UpsertAsync(8, latest)));
        AssertEntries([neighbour, latest], await Store.LoadShardAsync(8));
    }
}

/// <summary>The catalog store contract on the embedded database, a fresh file per test.</summary>
public sealed class SqliteCatalogStoreTests : CatalogStoreContract, IAsyncLifetime
{
    private readonly TestDatabase _database = new();
    private ICatalogStore? _store;

    protected override ICatalogStore Store => _store ?? throw new InvalidOperationException("not started");

    protected override ICatalogStore Reopen() => new SqliteCatalogStore(_database.Open());

    protected override Task InsertLegacyAsync(long shard, CatalogEntry entry)
    {
        using var connection = Open();
        SqliteDatabase.Execute(connection, "INSERT INTO catalog_entry (image_id, shard, version, entry) VALUES ($id, $shard, $version, $entry)",
            ("$id", SqliteCatalogStore.Key(entry.Image.Id)), ("$shard", shard), ("$version", entry.Version),
            ("$entry", JsonSerializer.Serialize(entry, StorageJson.Options)));
        return Task.CompletedTask;
    }

    protected override async Task<IReadOnlySet<string>> WrittenByAsync(long shard, Func<Task> write)
    {
        // Triggers of the test's own see every row a statement inserts, updates (even to the same
        // value) or deletes; SQLite's changes() leaves trigger rows out, so the store's guard is unaffected.
        using (var connection = Open())
        {
            SqliteDatabase.Execute(connection, """
                CREATE TABLE IF NOT EXISTS test_written (row TEXT NOT NULL);
                DELETE FROM test_written;
                CREATE TRIGGER IF NOT EXISTS test_entry_insert AFTER INSERT ON catalog_entry BEGIN INSERT INTO test_written VALUES (new.image_id); END;
                CREATE TRIGGER IF NOT EXISTS test_entry_update AFTER UPDATE ON catalog_entry BEGIN INSERT INTO test_written VALUES (new.image_id); END;
                CREATE TRIGGER IF NOT EXISTS test_property_insert AFTER INSERT ON catalog_property BEGIN INSERT INTO test_written VALUES (new.image_id || '/' || new.name); END;
                CREATE TRIGGER IF NOT EXISTS test_property_update AFTER UPDATE ON catalog_property BEGIN INSERT INTO test_written VALUES (new.image_id || '/' || new.name); END;
                CREATE TRIGGER IF NOT EXISTS test_property_delete AFTER DELETE ON catalog_property BEGIN INSERT INTO test_written VALUES (old.image_id || '/' || old.name); END;
                """);
        }
        await write();
        using (var connection = Open())
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT row FROM test_written";
            using var reader = command.ExecuteReader();
            var written = new HashSet<string>(StringComparer.Ordinal);
            while (reader.Read())
            {
                Assert.True(written.Add(reader.GetString(0)), $"{reader.GetString(0)} was written twice");
            }
            return written;
        }
    }

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = _database.File, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    public Task InitializeAsync()
    {
        _store = Reopen();
        return Task.CompletedTask;
    }

    public Task DisposeAsync() => _database.DisposeAsync().AsTask();
}

/// <summary>The catalog store contract on an Azure Table of the tests' own Azurite, a table per test (created by the store).</summary>
[Collection(AzuriteCollection.Name)]
public sealed class AzureTableCatalogStoreTests(AzuriteFixture azurite) : CatalogStoreContract
{
    private readonly string _table = $"catalog{Guid.NewGuid():N}";
    private ICatalogStore? _store;

    protected override ICatalogStore Store => _store ??= Reopen();

    private TableClient Client => new(azurite.ConnectionString, _table);

    protected override ICatalogStore Reopen() => new AzureTableCatalogStore(new VersionedTable(Client));

    // The former format: the whole entry in the image's entity, through the same versioned write.
    protected override Task InsertLegacyAsync(long shard, CatalogEntry entry) =>
        new VersionedTable(Client).WriteAsync($"{shard}", SqliteCatalogStore.Key(entry.Image.Id), entry.Version,
            JsonSerializer.SerializeToUtf8Bytes(entry, StorageJson.Options));

    protected override async Task<IReadOnlySet<string>> WrittenByAsync(long shard, Func<Task> write)
    {
        var before = await SnapshotAsync(shard);
        // Every write gives an entity a new ETag (a timestamp): let the clock move on from the last one.
        await Task.Delay(50);
        await write();
        var after = await SnapshotAsync(shard);
        return before.Keys.Union(after.Keys)
            .Where(row => !before.TryGetValue(row, out var old) || !after.TryGetValue(row, out var now) || old.ETag != now.ETag)
            .Select(row => before.TryGetValue(row, out var old) ? old.Written : after[row].Written)
            .ToHashSet(StringComparer.Ordinal);
    }

    [Fact]
    public async Task An_entry_whose_write_was_cut_short_between_transactions_loads_as_unsettled_until_written_again()
    {
        var id = Guid.NewGuid();
        var key = SqliteCatalogStore.Key(id);
        await Store.UpsertAsync(3, Entry(id, 1, ("a", "1"), ("b", "2")));
        Assert.False(Assert.Single(await Store.LoadShardAsync(3)).Unsettled);

        // What a kill -9 between the transactions of version 2 leaves: the core still at version 1,
        // marked pending, and a property row of version 2 beside it.
        var core = (await Client.GetEntityAsync<TableEntity>("3", key)).Value;
        await Client.UpdateEntityAsync(new TableEntity("3", key) { ["Pending"] = 2L }, core.ETag, TableUpdateMode.Merge);
        var row = (await Client.GetEntityAsync<TableEntity>("3", key + "-" + Convert.ToHexStringLower("a"u8))).Value;
        row.RowKey = key + "-" + Convert.ToHexStringLower("c"u8);
        row["Name"] = "c";
        await Client.UpsertEntityAsync(row, TableUpdateMode.Replace);

        var torn = Assert.Single(await Reopen().LoadShardAsync(3));
        Assert.True(torn.Unsettled);
        Assert.Equal(1, torn.Version);

        // The image publishes again (the shard asks it to): the entry is whole.
        var second = Entry(id, 2, ("a", "1"), ("b", "two"));
        await Store.UpsertAsync(3, second);
        var whole = Assert.Single(await Reopen().LoadShardAsync(3));
        Assert.False(whole.Unsettled);
        Assert.Equal(second.Image.Properties, whole.Image.Properties);
        Assert.Equal(2, whole.Version);
    }

    private async Task<Dictionary<string, (string ETag, string Written)>> SnapshotAsync(long shard)
    {
        var entities = new Dictionary<string, (string, string)>(StringComparer.Ordinal);
        await foreach (var entity in Client.QueryAsync<TableEntity>(e => e.PartitionKey == $"{shard}"))
        {
            var name = entity.GetString("Name");
            entities[entity.RowKey] = (entity.ETag.ToString(), name is null ? entity.RowKey : $"{entity.RowKey[..32]}/{name}");
        }
        return entities;
    }
}
