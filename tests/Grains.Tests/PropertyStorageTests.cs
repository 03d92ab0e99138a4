using System.Text.Json;
using Glance.Grains.Catalog;
using Glance.Grains.Identity;
using Glance.Grains.Images;
using Glance.Grains.Properties;
using Glance.Grains.Storage;
using Microsoft.Data.Sqlite;
using static Glance.Grains.Tests.Support;

namespace Glance.Grains.Tests;

/// <summary>
/// Where an image's properties are stored, on a real cluster and its SQLite file: a row each in the
/// property-set store, not inside the image's state, so that writing one property rewrites that one
/// (plus the image's core and the catalog's); the image shows them again after a restart; sets that
/// an earlier release stored whole are moved to rows on first use.
/// </summary>
public sealed class PropertyStorageTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private SqliteConnection OpenDatabase() => GlanceTestCluster.OpenDatabase(_directory.Path);

    private List<object?[]> Rows(string sql, Guid id)
    {
        using var connection = OpenDatabase();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$id", SqliteCatalogStore.Key(id));
        using var reader = command.ExecuteReader();
        var rows = new List<object?[]>();
        while (reader.Read())
        {
            var row = new object?[reader.FieldCount];
            reader.GetValues(row!);
            rows.Add(row);
        }
        return rows;
    }

    private void Execute(string sql, Guid id, params (string Name, object Value)[] parameters)
    {
        using var connection = OpenDatabase();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$id", SqliteCatalogStore.Key(id));
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }
        command.ExecuteNonQuery();
    }

    private string ImagePayload(Guid id) => (string)Rows(
        "SELECT payload FROM grain_state WHERE state_name = 'image' AND grain_type = 'glance.image' AND grain_key = $id", id).Single()[0]!;

    private static ImageDraft Draft(int properties)
    {
        var draft = ImageDraft.Empty.With("name", "many");
        for (var i = 0; i < properties; i++)
        {
            draft = draft.With($"p{i:D2}", new string('v', 500) + i);
        }
        return draft;
    }

    [Fact]
    public async Task An_image_write_stores_its_core_and_the_set_a_row_per_property_and_a_restart_shows_them_all()
    {
        var owner = Caller.Member(NewProject());
        Guid id;
        ImageRecord written;
        await using (var cluster = await GlanceTestCluster.StartAsync(_directory.Path))
        {
            id = (await cluster.CreateAsync(owner, Draft(60))).Id;
            written = await cluster.Image(id).UpdateAsync(owner, [PatchOperation.Replace("p07", "seven"), PatchOperation.Replace("name", "renamed")]);
            Assert.Equal("seven", written.Properties["p07"]);
        }

        // The image's stored state holds none of the set's properties (they are 30 KB), only the
        // delta of its last write (the patch's commit point, until the set has it).
        var payload = ImagePayload(id);
        Assert.Contains("\"upserts\":[{\"name\":\"p07\"", payload, StringComparison.Ordinal);
        Assert.DoesNotContain("p08", payload, StringComparison.Ordinal);
        Assert.DoesNotContain(new string('v', 500), payload, StringComparison.Ordinal);
        Assert.True(payload.Length < 4_000, $"image state is {payload.Length} bytes");
        Assert.Equal(60, Rows("SELECT name FROM image_property WHERE image_id = $id", id).Count);
        Assert.Equal(2L, Rows("SELECT version FROM property_set WHERE image_id = $id", id).Single()[0]);

        await using (var restarted = await GlanceTestCluster.StartAsync(_directory.Path))
        {
            var read = await restarted.Image(id).GetAsync(owner);
            Assert.Equal(written.Properties, read.Properties);
            Assert.Equal("renamed", read.Name);
            Assert.Equal(written.Properties, Assert.Single(await restarted.Catalog.ListAsync(owner, new ImageQuery()), i => i.Id == id).Properties);
            // The next write starts from the rows: one property more, the rest kept.
            var next = await restarted.Image(id).UpdateAsync(owner, [PatchOperation.Add("extra", "1")]);
            Assert.Equal(61, next.Properties.Count);
        }
    }

    [Fact]
    public async Task A_set_an_earlier_release_stored_whole_is_moved_to_rows_on_first_use()
    {
        var owner = Caller.Member(NewProject());
        Guid id;
        ImageRecord written;
        await using (var cluster = await GlanceTestCluster.StartAsync(_directory.Path))
        {
            id = (await cluster.CreateAsync(owner, Draft(5))).Id;
            written = await cluster.Image(id).UpdateAsync(owner, [PatchOperation.Replace("p01", "one")]);
        }

        // Rewrite the file as an earlier release left it: the set whole in its grain state, the
        // image's projection in the image's state, no rows.
        var properties = Rows("SELECT name, property FROM image_property WHERE image_id = $id", id)
            .ToDictionary(r => (string)r[0]!, r => JsonSerializer.Deserialize<ImageProperty>((string)r[1]!, StorageJson.Options)!);
        var legacy = JsonSerializer.Serialize(new ImagePropertiesState { Version = 2, Properties = new(properties, StringComparer.Ordinal) }, StorageJson.Options);
        Execute("INSERT INTO grain_state (state_name, grain_type, grain_key, etag, payload) VALUES ('image-properties', 'glance.image-properties', $id, 'e1', $p)",
            id, ("$p", legacy));
        Execute("DELETE FROM image_property WHERE image_id = $id", id);
        Execute("DELETE FROM property_set WHERE image_id = $id", id);
        var image = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(ImagePayload(id))!;
        image["properties"] = JsonSerializer.SerializeToElement(written.Properties);
        Execute("UPDATE grain_state SET payload = $p WHERE state_name = 'image' AND grain_key = $id", id, ("$p", JsonSerializer.Serialize(image)));

        await using (var restarted = await GlanceTestCluster.StartAsync(_directory.Path))
        {
            Assert.Equal(written.Properties, (await restarted.Image(id).GetAsync(owner)).Properties);
            var next = await restarted.Image(id).UpdateAsync(owner, [PatchOperation.Remove("p02")]);
            Assert.Equal(4, next.Properties.Count);
            Assert.Equal("one", next.Properties["p01"]);
        }
        Assert.Equal(4, Rows("SELECT name FROM image_property WHERE image_id = $id", id).Count);
        Assert.Empty(Rows("SELECT payload FROM grain_state WHERE state_name = 'image-properties' AND grain_key = $id", id));
        Assert.DoesNotContain("p01", ImagePayload(id), StringComparison.Ordinal);
    }
}
