using Glance.Grains.Catalog;
using Glance.Grains.Identity;
using Glance.Grains.Images;
using Microsoft.Data.Sqlite;
using static Glance.Grains.Tests.Support;

namespace Glance.Grains.Tests;

/// <summary>
/// The catalog's layout (<c>Glance:Catalog</c>): images land in the shards the configured layout
/// names, lists stay right across many shards, the layout is recorded with the data and a start
/// naming another one is refused, and the default places images where earlier versions did.
/// </summary>
public sealed class CatalogLayoutTests : IDisposable
{
    private static readonly Dictionary<string, string?> Sixteen = new()
    {
        ["Glance:Catalog:Shards"] = "16",
        ["Glance:Catalog:SpreadPerOwner"] = "16",
    };

    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Images_land_in_the_shards_of_the_configured_layout_and_list_correctly()
    {
        var layout = new CatalogLayout(16, 16);
        var big = Caller.Member(NewProject("big"));
        var others = Enumerable.Range(0, 6).Select(i => Caller.Member(NewProject($"o{i}"))).ToArray();
        var suite = Guid.NewGuid().ToString("N");
        await using var cluster = await GlanceTestCluster.StartAsync(_directory.Path, settings: Sixteen);
        var names = new[] { "m", "a", "q", "c", "a" };
        var bigImages = await Task.WhenAll(Enumerable.Range(0, 80).Select(i => cluster.CreateAsync(big,
            ImageDraft.Empty.With("name", names[i % names.Length]).With("suite", suite).With("visibility", "community"))));
        var otherImages = await Task.WhenAll(Enumerable.Range(0, 30).Select(i => cluster.CreateAsync(others[i % others.Length],
            ImageDraft.Empty.With("name", names[i % names.Length]).With("suite", suite).With("visibility", "community"))));

        // Every entry is stored in the shard the layout names; one project's images spread over (nearly) all 16.
        var shards = ReadShards();
        Assert.All(bigImages.Concat(otherImages), i => Assert.Equal(layout.Of(i.Owner, i.Id), shards[i.Id]));
        Assert.True(bigImages.Select(i => shards[i.Id]).Distinct().Count() >= 12, "80 images of one project spread over at most 11 of 16 shards");
        Assert.Equal(16, layout.ForOwner(big.ProjectId).Count());

        // Lists across 16 shards: complete, in order, page by page, for the default order and a sort.
        var reader = Caller.Member(NewProject("reader"));
        var all = bigImages.Concat(otherImages).ToList();
        var newestFirst = all.OrderByDescending(i => i.CreatedAt).ThenByDescending(i => i.Id.ToString(), StringComparer.Ordinal).Select(i => i.Id);
        var listed = await cluster.ListAllAsync(reader, new ImageQuery { Limit = 7, Visibility = VisibilityScope.All }.WithProperty("suite", suite));
        Assert.Equal(newestFirst, listed.Select(i => i.Id));
        var byName = await cluster.ListAllAsync(reader, new ImageQuery
        {
            Limit = 9, Visibility = VisibilityScope.All, Sort = [new SortCriterion(SortKey.Name, false)],
        }.WithProperty("suite", suite));
        Assert.Equal(all.OrderBy(i => i.Name, StringComparer.Ordinal).ThenBy(i => i.CreatedAt).ThenBy(i => i.Id.ToString(), StringComparer.Ordinal).Select(i => i.Id),
            byName.Select(i => i.Id));
        // The owner's own view (asks only its shards for usage) and the per-shard counts of the metrics.
        Assert.Equal(80, (await cluster.ListedIdsAsync(big, new ImageQuery { Visibility = VisibilityScope.All }.WithProperty("suite", suite))).Count(id => bigImages.Any(i => i.Id == id)));
        var counts = await cluster.Client.GetGrain<ICatalogStatsGrain>(0).CountByShardAsync();
        Assert.Equal(16, counts.Length);
        for (var shard = 0; shard < 16; shard++)
        {
            Assert.Equal(shards.Values.Count(s => s == shard), counts[shard].Values.Sum());
        }
    }

    [Fact]
    public async Task A_start_naming_another_layout_than_the_recorded_one_is_refused()
    {
        var owner = Caller.Member(NewProject());
        ImageRecord image;
        await using (var cluster = await GlanceTestCluster.StartAsync(_directory.Path))
        {
            image = await cluster.CreateAsync(owner, ImageDraft.Empty.With("name", "kept"));
        }
        Assert.Equal((4, 2), ReadRecordedLayout());

        var refused = await Assert.ThrowsAnyAsync<Exception>(() => GlanceTestCluster.StartAsync(_directory.Path, settings: Sixteen));
        var message = Messages(refused);
        Assert.Contains("stored data has the layout 4 shards, spread per owner 2", message);
        Assert.Contains("configured with 16 shards, spread per owner 16", message);
        Assert.Equal((4, 2), ReadRecordedLayout());

        // The recorded layout still starts, and finds the image where it was.
        await using var again = await GlanceTestCluster.StartAsync(_directory.Path);
        Assert.Contains(image.Id, await again.ListedIdsAsync(owner));
    }

    [Fact]
    public async Task A_database_with_entries_but_no_recorded_layout_has_the_default_one()
    {
        // Data written before layouts were recorded: the default layout is the data's.
        await using (var cluster = await GlanceTestCluster.StartAsync(_directory.Path))
        {
            await cluster.CreateAsync(Caller.Member(NewProject()));
        }
        using (var connection = OpenDatabase())
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "DELETE FROM catalog_layout";
            Assert.Equal(1, command.ExecuteNonQuery());
        }
        var refused = await Assert.ThrowsAnyAsync<Exception>(() => GlanceTestCluster.StartAsync(_directory.Path, settings: Sixteen));
        Assert.Contains("stored data has the layout 4 shards", Messages(refused));
        Assert.Equal((4, 2), ReadRecordedLayout());
    }

    [Fact]
    public async Task A_new_store_records_the_configured_layout()
    {
        await using (var cluster = await GlanceTestCluster.StartAsync(_directory.Path, settings: Sixteen))
        {
            await cluster.CreateAsync(Caller.Member(NewProject()));
        }
        Assert.Equal((16, 16), ReadRecordedLayout());
        var refused = await Assert.ThrowsAnyAsync<Exception>(() => GlanceTestCluster.StartAsync(_directory.Path));
        Assert.Contains("configured with 4 shards, spread per owner 2", Messages(refused));
    }

    [Theory]
    [InlineData("0", "2", "Glance:Catalog:Shards must be 1 to 1024")]
    [InlineData("4", "5", "Glance:Catalog:SpreadPerOwner must be 1 to Glance:Catalog:Shards (4)")]
    public async Task A_malformed_layout_stops_start_up(string shards, string spread, string expected)
    {
        var refused = await Assert.ThrowsAnyAsync<Exception>(() => GlanceTestCluster.StartAsync(_directory.Path, settings: new Dictionary<string, string?>
        {
            ["Glance:Catalog:Shards"] = shards,
            ["Glance:Catalog:SpreadPerOwner"] = spread,
        }));
        Assert.Contains(expected, Messages(refused));
    }

    [Theory]
    // Computed independently (outside .NET) with the formula of the constant layout earlier versions had:
    // (FNV-1a(owner) + (uint)imageId.GetHashCode() % 2) % 4.
    [InlineData("project-a", "3f2504e0-4f89-11d3-9a0c-0305e82c3301", 1)]
    [InlineData("project-a", "6ba7b810-9dad-11d1-80b4-00c04fd430c8", 0)]
    [InlineData("admin", "00000000-0000-0000-0000-000000000001", 0)]
    [InlineData("", "a1b2c3d4-0000-4000-8000-00000000abcd", 1)]
    [InlineData("demo", "9b2f1a4e-5c6d-4e7f-8a9b-0c1d2e3f4a5b", 3)]
    public void The_default_layout_places_images_where_earlier_versions_did(string owner, string imageId, long shard)
    {
        Assert.Equal(4, new CatalogOptions().Layout.Shards);
        Assert.Equal(2, new CatalogOptions().Layout.SpreadPerOwner);
        Assert.Equal(shard, CatalogLayout.Default.Of(owner, Guid.Parse(imageId)));
        Assert.Contains(shard, CatalogLayout.Default.ForOwner(owner));
    }

    private static string Messages(Exception exception)
    {
        var messages = new List<string>();
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            messages.Add(e.Message);
            if (e is AggregateException aggregate)
            {
                messages.AddRange(aggregate.InnerExceptions.Select(Messages));
            }
        }
        return string.Join("\n", messages);
    }

    private SqliteConnection OpenDatabase() => GlanceTestCluster.OpenDatabase(_directory.Path);

    private Dictionary<Guid, long> ReadShards()
    {
        using var connection = OpenDatabase();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT image_id, shard FROM catalog_entry WHERE entry IS NOT NULL";
        using var reader = command.ExecuteReader();
        var shards = new Dictionary<Guid, long>();
        while (reader.Read())
        {
            shards[Guid.ParseExact(reader.GetString(0), "N")] = reader.GetInt64(1);
        }
        return shards;
    }

    private (int Shards, int Spread) ReadRecordedLayout()
    {
        using var connection = OpenDatabase();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT shards, spread FROM catalog_layout WHERE id = 0";
        using var reader = command.ExecuteReader();
        Assert.True(reader.Read(), "no layout recorded");
        return (reader.GetInt32(0), reader.GetInt32(1));
    }
}
