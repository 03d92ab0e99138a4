using System.Collections.Immutable;
using System.Text.Json;
using Azure.Data.Tables;
using Glance.Grains.Properties;
using Glance.Grains.Storage;

namespace Glance.Storage.Tests;

/// <summary>
/// What every <see cref="IPropertySetStore"/> must do, written once and run against each store
/// (<see cref="SqlitePropertySetStoreTests"/>, <see cref="AzureTablePropertySetStoreTests"/>): a
/// delta writes the properties it names and only those; an older delta changes nothing; a delta
/// sent again after a commit cut short gives the same set; large values and large deltas
/// round-trip; sets outlive the instance that wrote them.
/// </summary>
public abstract class PropertySetStoreContract
{
    private static readonly DateTimeOffset At = new(2026, 12, 2, 1, 0, 0, TimeSpan.Zero);

    /// <summary>The store under test, empty at the start of each test.</summary>
    protected abstract IPropertySetStore Store { get; }

    /// <summary>A new instance over the same storage (as after a restart).</summary>
    protected abstract IPropertySetStore Reopen();

    /// <summary>A stamp per stored property of the image that changes whenever that property's row is written.</summary>
    protected abstract Task<IReadOnlyDictionary<string, string>> RowStampsAsync(Guid imageId);

    /// <summary>Sets the stored version back, as a commit cut short before its version was written leaves it.</summary>
    protected abstract Task RewindVersionAsync(Guid imageId, long version);

    private static ImageProperty Property(string name, string value, string visibility = PropertyVisibility.Public) => new()
    {
        Name = name, ValueJson = JsonSerializer.Serialize(value), Visibility = visibility, Owner = "p-owner",
        CreatedAt = At, UpdatedAt = At, ETag = Guid.NewGuid().ToString("N")[..20],
    };

    private static PropertyDelta Delta(long version, bool reset, IEnumerable<ImageProperty> upserts, params string[] removals) =>
        new(version, reset, [.. upserts], [.. removals]);

    private static string Json(PropertySet set) => JsonSerializer.Serialize(set, StorageJson.Options);

    private static void AssertSet(PropertySet expected, PropertySet actual) => Assert.Equal(Json(expected), Json(actual));

    [Fact]
    public async Task A_set_round_trips_and_outlives_the_store_instance()
    {
        var id = Guid.NewGuid();
        var empty = await Store.LoadAsync(id);
        Assert.Equal(0, empty.Version);
        Assert.Empty(empty.Properties);

        var delta = Delta(1, true, [Property("os_distro", "ubuntu"), Property("secret", "x", PropertyVisibility.Admin), Property("a/b#c?\u0001", "odd name")]);
        await Store.CommitAsync(id, delta);

        var expected = delta.ApplyTo(empty);
        AssertSet(expected, await Store.LoadAsync(id));
        AssertSet(expected, await Reopen().LoadAsync(id));
        Assert.Empty((await Store.LoadAsync(Guid.NewGuid())).Properties);
    }

    [Fact]
    public async Task A_delta_replaces_and_removes_what_it_names_and_an_older_one_changes_nothing()
    {
        var id = Guid.NewGuid();
        var first = Delta(1, true, [Property("a", "1"), Property("b", "2"), Property("c", "3")]);
        await Store.CommitAsync(id, first);
        var second = Delta(2, false, [Property("b", "two"), Property("d", "4")], "c");
        await Store.CommitAsync(id, second);
        var expected = second.ApplyTo(first.ApplyTo(await Reopen().LoadAsync(Guid.NewGuid())));
        AssertSet(expected, await Store.LoadAsync(id));
        Assert.Equal(["a", "b", "d"], (await Store.LoadAsync(id)).Properties.Keys);

        // A late or repeated delta (its version is not newer) writes nothing.
        await Store.CommitAsync(id, Delta(2, false, [Property("e", "5")], "a"));
        await Store.CommitAsync(id, Delta(1, true, [Property("z", "26")]));
        AssertSet(expected, await Store.LoadAsync(id));
    }

    [Fact]
    public async Task A_delta_sent_again_after_a_commit_cut_short_gives_the_same_set()
    {
        var id = Guid.NewGuid();
        await Store.CommitAsync(id, Delta(1, true, [Property("a", "1"), Property("b", "2")]));
        var second = Delta(2, false, [Property("c", "3")], "a");
        await Store.CommitAsync(id, second);
        var expected = await Store.LoadAsync(id);

        // The rows of version 2 are there, its version is not: the image grain sends the delta again.
        await RewindVersionAsync(id, 1);
        await Reopen().CommitAsync(id, second);
        AssertSet(expected, await Store.LoadAsync(id));
        Assert.Equal(2, (await Store.LoadAsync(id)).Version);
    }

    [Fact]
    public async Task Concurrent_commits_of_one_set_leave_the_newest_version_never_an_older_one()
    {
        // Two activations of one set for a moment (a silo lost): deltas of different versions race.
        for (var round = 0; round < 5; round++)
        {
            var id = Guid.NewGuid();
            await Store.CommitAsync(id, Delta(1, true, [Property("k", "v1")]));
            var stores = Enumerable.Range(0, 4).Select(_ => Reopen()).ToArray();
            await Task.WhenAll(Enumerable.Range(2, 8).Reverse().Select(v =>
                Task.Run(() => stores[v % stores.Length].CommitAsync(id, Delta(v, false, [Property("k", $"v{v}"), Property($"only{v}", "x")])))));
            var set = await Reopen().LoadAsync(id);
            Assert.Equal(9, set.Version);
            Assert.Equal(JsonSerializer.Serialize("v9"), set.Properties["k"].ValueJson);
            Assert.True(set.Properties.ContainsKey("only9"));
        }
    }

    [Fact]
    public async Task Writing_one_property_of_a_hundred_writes_that_property_only()
    {
        var id = Guid.NewGuid();
        await Store.CommitAsync(id, Delta(1, true, Enumerable.Range(0, 100).Select(i => Property($"p{i:D3}", new string('x', 1000)))));
        var before = await RowStampsAsync(id);
        Assert.Equal(100, before.Count);

        await Store.CommitAsync(id, Delta(2, false, [Property("p042", "changed")]));

        var after = await RowStampsAsync(id);
        var rewritten = before.Keys.Where(key => before[key] != after[key]).ToList();
        Assert.Single(rewritten);
        Assert.Equal("changed", (await Store.LoadAsync(id)).Properties["p042"].FlatValue);
    }

    [Fact]
    public async Task The_largest_value_and_a_delta_of_more_than_a_hundred_changes_round_trip()
    {
        var id = Guid.NewGuid();
        // 65,535 bytes that JSON escapes six-fold: over a table property's 64 KiB many times.
        var large = Property("large", new string('\u0001', 65_535));
        var first = Delta(1, true, [large, .. Enumerable.Range(0, 127).Select(i => Property($"old{i}", $"v{i}"))]);
        await Store.CommitAsync(id, first);
        AssertSet(first.ApplyTo(new PropertySet(0, ImmutableSortedDictionary<string, ImageProperty>.Empty)), await Reopen().LoadAsync(id));

        // 127 removals and 127 additions in one delta: more than one transaction's 100 actions.
        var second = Delta(2, false, Enumerable.Range(0, 127).Select(i => Property($"new{i}", $"w{i}")), [.. Enumerable.Range(0, 127).Select(i => $"old{i}")]);
        await Store.CommitAsync(id, second);
        var loaded = await Reopen().LoadAsync(id);
        Assert.Equal(2, loaded.Version);
        Assert.Equal(128, loaded.Properties.Count);
        Assert.Equal(large.ValueJson, loaded.Properties["large"].ValueJson);
        Assert.DoesNotContain(loaded.Properties.Keys, k => k.StartsWith("old", StringComparison.Ordinal));

        // A reset drops what the new set does not hold.
        var third = Delta(3, true, [Property("only", "1")]);
        await Store.CommitAsync(id, third);
        Assert.Equal(["only"], (await Reopen().LoadAsync(id)).Properties.Keys);
    }
}

/// <summary>The property-set store contract on the embedded database (a file of the test's own).</summary>
public sealed class SqlitePropertySetStoreTests : PropertySetStoreContract, IAsyncLifetime
{
    private readonly TestDatabase _database = new();
    private SqliteDatabase? _first;
    private IPropertySetStore? _store;

    private SqliteDatabase First => _first ?? throw new InvalidOperationException("not started");

    protected override IPropertySetStore Store => _store ?? throw new InvalidOperationException("not started");

    protected override IPropertySetStore Reopen() => new SqlitePropertySetStore(_database.Open());

    // A write counter per row, kept by triggers this test adds to its own database.
    protected override Task<IReadOnlyDictionary<string, string>> RowStampsAsync(Guid imageId) =>
        First.ReadAsync<IReadOnlyDictionary<string, string>>(connection =>
        {
            using var command = SqliteDatabase.Command(connection,
                "SELECT p.name, (SELECT count(*) FROM row_writes w WHERE w.image_id = p.image_id AND w.name = p.name) FROM image_property p WHERE p.image_id = $id",
                ("$id", SqliteCatalogStore.Key(imageId)));
            using var reader = command.ExecuteReader();
            var stamps = new Dictionary<string, string>();
            while (reader.Read())
            {
                stamps[reader.GetString(0)] = reader.GetInt64(1).ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
            return stamps;
        });

    protected override Task RewindVersionAsync(Guid imageId, long version) =>
        First.WriteAsync(connection => SqliteDatabase.Command(connection, "UPDATE property_set SET version = $v WHERE image_id = $id",
            ("$v", version), ("$id", SqliteCatalogStore.Key(imageId))).ExecuteNonQuery());

    public async Task InitializeAsync()
    {
        _first = _database.Open();
        await _first.WriteAsync(connection =>
        {
            SqliteDatabase.Execute(connection, """
                CREATE TABLE row_writes (image_id TEXT, name TEXT);
                CREATE TRIGGER property_inserted AFTER INSERT ON image_property BEGIN INSERT INTO row_writes VALUES (NEW.image_id, NEW.name); END;
                CREATE TRIGGER property_updated AFTER UPDATE ON image_property BEGIN INSERT INTO row_writes VALUES (NEW.image_id, NEW.name); END;
                """);
            return 0;
        });
        _store = new SqlitePropertySetStore(_first);
    }

    public Task DisposeAsync() => _database.DisposeAsync().AsTask();
}

/// <summary>The property-set store contract on an Azure Table of the tests' own Azurite, a table per test (created by the store).</summary>
[Collection(AzuriteCollection.Name)]
public sealed class AzureTablePropertySetStoreTests(AzuriteFixture azurite) : PropertySetStoreContract
{
    private readonly string _table = $"properties{Guid.NewGuid():N}";
    private IPropertySetStore? _store;

    protected override IPropertySetStore Store => _store ??= Reopen();

    protected override IPropertySetStore Reopen() => new AzureTablePropertySetStore(Table);

    private TableClient Table => new(azurite.ConnectionString, _table);

    // Each entity's ETag changes on every write of it; the version entity ("v") is not a property.
    protected override async Task<IReadOnlyDictionary<string, string>> RowStampsAsync(Guid imageId)
    {
        var stamps = new Dictionary<string, string>();
        await foreach (var entity in Table.QueryAsync<TableEntity>(e => e.PartitionKey == SqliteCatalogStore.Key(imageId), select: ["RowKey"]))
        {
            if (entity.RowKey != "v")
            {
                stamps[entity.RowKey] = entity.ETag.ToString();
            }
        }
        return stamps;
    }

    protected override Task RewindVersionAsync(Guid imageId, long version) =>
        Table.UpsertEntityAsync(new TableEntity(SqliteCatalogStore.Key(imageId), "v") { ["Version"] = version }, TableUpdateMode.Replace);
}
