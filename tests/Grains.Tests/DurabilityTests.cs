using Glance.Grains.Catalog;
using Glance.Grains.Errors;
using Glance.Grains.Identity;
using Glance.Grains.Images;
using Glance.Grains.Storage;
using Microsoft.Data.Sqlite;
using static Glance.Grains.Tests.Support;

namespace Glance.Grains.Tests;

/// <summary>
/// What survives a restart: each test runs its own clusters, one after the other, on one
/// data directory (the real SQLite file), and edits that file directly to simulate a crash.
/// </summary>
public sealed class DurabilityTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private SqliteConnection OpenDatabase() => GlanceTestCluster.OpenDatabase(_directory.Path);

    private static object? Scalar(SqliteConnection connection, string sql, params (string Name, object Value)[] parameters)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }
        return command.ExecuteScalar();
    }

    private static int Execute(SqliteConnection connection, string sql, params (string Name, object Value)[] parameters)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }
        return command.ExecuteNonQuery();
    }

    private sealed record CatalogRow(long Shard, long Version, string? Entry);

    private CatalogRow? ReadCatalogRow(Guid id)
    {
        using var connection = OpenDatabase();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT shard, version, entry FROM catalog_entry WHERE image_id = $id";
        command.Parameters.AddWithValue("$id", SqliteCatalogStore.Key(id));
        using var reader = command.ExecuteReader();
        return reader.Read() ? new CatalogRow(reader.GetInt64(0), reader.GetInt64(1), reader.IsDBNull(2) ? null : reader.GetString(2)) : null;
    }

    [Fact]
    public async Task Images_members_and_lists_survive_a_restart()
    {
        var (p1, p2, admin) = (Caller.Member(NewProject("p1")), Caller.Member(NewProject("p2")), Caller.Admin(NewProject("admin")));
        Guid privateId, sharedId, publicId, deletedId;
        string[] snapshots;
        Guid[] p1List, p2List, adminList;
        await using (var cluster = await GlanceTestCluster.StartAsync(_directory.Path))
        {
            privateId = (await cluster.CreateAsync(p1, ImageDraft.Empty
                .With("name", "private one").With("visibility", "private").With("tags", new[] { "x", "y" })
                .With("hw_disk_bus", "scsi").With("min_ram", 512).With("disk_format", "qcow2").With("protected", true))).Id;
            sharedId = (await cluster.CreateAsync(p1, ImageDraft.Empty.With("name", "shared one"))).Id;
            await cluster.Image(sharedId).AddMemberAsync(p1, p2.ProjectId!);
            await cluster.Image(sharedId).SetMemberStatusAsync(p2, p2.ProjectId!, MemberStatus.Accepted);
            await cluster.Image(sharedId).AddMemberAsync(p1, NewProject());
            publicId = (await cluster.CreateAsync(admin, ImageDraft.Empty.With("visibility", "public").With("os_distro", "ubuntu"))).Id;
            deletedId = (await cluster.CreateAsync(p1)).Id;
            await cluster.Image(deletedId).DeleteAsync(p1);
            for (var i = 0; i < 3; i++)
            {
                await cluster.Image(privateId).UpdateAsync(p1, [PatchOperation.Add($"rev{i}", $"{i}")]);
            }
            await cluster.Image(privateId).UntagAsync(p1, "x");

            snapshots = await SnapshotsAsync(cluster, admin, privateId, sharedId, publicId);
            p1List = Ids(await cluster.Catalog.ListAsync(p1, new ImageQuery()));
            p2List = Ids(await cluster.Catalog.ListAsync(p2, new ImageQuery()));
            adminList = Ids(await cluster.Catalog.ListAsync(admin, new ImageQuery { Visibility = VisibilityScope.All }));
        }
        Assert.Equal(new[] { sharedId, privateId, publicId }.Order(), p1List.Order());

        await using (var restarted = await GlanceTestCluster.StartAsync(_directory.Path, silos: 2))
        {
            Assert.Equal(snapshots, await SnapshotsAsync(restarted, admin, privateId, sharedId, publicId));
            Assert.Equal(p1List, Ids(await restarted.Catalog.ListAsync(p1, new ImageQuery())));
            Assert.Equal(p2List, Ids(await restarted.Catalog.ListAsync(p2, new ImageQuery())));
            Assert.Equal(adminList, Ids(await restarted.Catalog.ListAsync(admin, new ImageQuery { Visibility = VisibilityScope.All })));
            Assert.Contains(sharedId, p2List);

            var members = await restarted.Image(sharedId).ListMembersAsync(p1);
            Assert.Equal(2, members.Length);
            Assert.Equal(MemberStatus.Accepted, Assert.Single(members, m => m.MemberId == p2.ProjectId).Status);

            // A deleted image stays deleted, and its id stays used.
            await ThrowsGlance(ErrorKind.NotFound, () => restarted.Image(deletedId).GetAsync(admin));
            await ThrowsGlance(ErrorKind.Conflict, () => restarted.Image(deletedId).CreateAsync(p1, ImageDraft.Empty));
            // Protection survived too.
            await ThrowsGlance(ErrorKind.Forbidden, () => restarted.Image(privateId).DeleteAsync(p1));

            // New activations continue from the stored state (its ETag included): writes still work.
            var renamed = await restarted.Image(privateId).UpdateAsync(p1, [PatchOperation.Replace("name", "renamed")]);
            Assert.Equal("renamed", renamed.Name);
            Assert.Equal("renamed", Assert.Single(await restarted.Catalog.ListAsync(p1, new ImageQuery()), i => i.Id == privateId).Name);
        }
    }

    [Fact]
    public async Task Start_up_recovery_republishes_images_whose_catalog_entry_was_lost_or_stale()
    {
        var admin = Caller.Admin(NewProject("admin"));
        var owners = new[] { NewProject("a"), NewProject("b"), NewProject("c") };
        var lost = new List<ImageRecord>();
        ImageRecord renamed, deleted;
        CatalogRow beforeRename, beforeDelete;
        await using (var cluster = await GlanceTestCluster.StartAsync(_directory.Path))
        {
            for (var i = 0; i < 6; i++)
            {
                lost.Add(await cluster.CreateAsync(Caller.Admin(owners[i % owners.Length]),
                    ImageDraft.Empty.With("visibility", "public").With("name", $"lost-{i}")));
            }
            // Several writes, so stored versions differ between images.
            await cluster.Image(lost[0].Id).UpdateAsync(admin, [PatchOperation.Add("k", "v")]);
            await cluster.Image(lost[0].Id).TagAsync(admin, "t");

            renamed = await cluster.CreateAsync(Caller.Admin(owners[0]), ImageDraft.Empty.With("visibility", "public").With("name", "old name"));
            beforeRename = ReadCatalogRow(renamed.Id)!;
            await cluster.Image(renamed.Id).UpdateAsync(admin, [PatchOperation.Replace("name", "new name")]);

            deleted = await cluster.CreateAsync(Caller.Admin(owners[1]), ImageDraft.Empty.With("visibility", "public"));
            beforeDelete = ReadCatalogRow(deleted.Id)!;
            await cluster.Image(deleted.Id).DeleteAsync(admin);
        }
        Assert.NotNull(beforeRename.Entry);
        Assert.NotNull(beforeDelete.Entry);

        using (var connection = OpenDatabase())
        {
            // The join the recovery relies on: grain-state rows are keyed by the same text as catalog rows.
            foreach (var image in lost.Append(renamed).Append(deleted))
            {
                Assert.Equal(1L, Scalar(connection,
                    "SELECT COUNT(*) FROM grain_state WHERE state_name = 'image' AND grain_type = 'glance.image' AND grain_key = $k",
                    ("$k", SqliteCatalogStore.Key(image.Id))));
            }
            // A crash after the image writes but before their catalog updates.
            foreach (var image in lost)
            {
                Assert.Equal(1, Execute(connection, "DELETE FROM catalog_entry WHERE image_id = $id", ("$id", SqliteCatalogStore.Key(image.Id))));
            }
            Assert.Equal(1, Execute(connection, "UPDATE catalog_entry SET shard = $s, version = $v, entry = $e WHERE image_id = $id",
                ("$s", beforeRename.Shard), ("$v", beforeRename.Version), ("$e", beforeRename.Entry!), ("$id", SqliteCatalogStore.Key(renamed.Id))));
            Assert.Equal(1, Execute(connection, "UPDATE catalog_entry SET shard = $s, version = $v, entry = $e WHERE image_id = $id",
                ("$s", beforeDelete.Shard), ("$v", beforeDelete.Version), ("$e", beforeDelete.Entry!), ("$id", SqliteCatalogStore.Key(deleted.Id))));
        }

        await using (var restarted = await GlanceTestCluster.StartAsync(_directory.Path))
        {
            var listed = await restarted.Catalog.ListAsync(admin, new ImageQuery { Limit = 100 });
            Assert.Equal(lost.Select(i => i.Id).Append(renamed.Id).Order(), listed.Select(i => i.Id).Order());
            Assert.Equal("new name", Assert.Single(listed, i => i.Id == renamed.Id).Name);
            var first = Assert.Single(listed, i => i.Id == lost[0].Id);
            Assert.Equal("v", first.Properties["k"]);
            Assert.Equal(new[] { "t" }, first.Tags.ToArray());
            Assert.Equal(lost.Select(i => i.Owner).Order(), listed.Where(i => i.Id != renamed.Id).Select(i => i.Owner).Order());
            // Visibility rules apply to the recovered entries as to any other.
            Assert.Contains(lost[1].Id, Ids(await restarted.Catalog.ListAsync(Caller.Member(NewProject()), new ImageQuery { Limit = 100 })));
        }

        // The repair was written back, not only held in memory: the catalog agrees with the images.
        using (var connection = OpenDatabase())
        {
            Assert.Equal(0L, Scalar(connection, """
                SELECT COUNT(*) FROM grain_state g LEFT JOIN catalog_entry c ON c.image_id = g.grain_key
                WHERE g.grain_type = 'glance.image'
                  AND (c.version IS NULL OR c.version <> json_extract(g.payload, '$.version'))
                """));
            Assert.Null(ReadCatalogRow(deleted.Id)!.Entry);
        }
    }

    [Fact]
    public async Task Start_up_recovery_repairs_a_tombstone_left_at_the_images_own_version()
    {
        // When an admin changes the owner, the image grain first tombstones the image in its
        // former shard at the new version, then upserts it in the new one. A crash in between
        // leaves a tombstone as new as the image itself (this test forges that state).
        var admin = Caller.Admin(NewProject("admin"));
        var owner = Caller.Member(NewProject("owner"));
        ImageRecord image;
        await using (var cluster = await GlanceTestCluster.StartAsync(_directory.Path))
        {
            image = await cluster.CreateAsync(owner, ImageDraft.Empty.With("name", "survivor"));
        }
        var row = ReadCatalogRow(image.Id)!;
        Assert.Equal(CatalogLayout.Default.Of(owner.ProjectId, image.Id), row.Shard);
        using (var connection = OpenDatabase())
        {
            Assert.Equal(1, Execute(connection, "UPDATE catalog_entry SET shard = $s, entry = NULL WHERE image_id = $id",
                ("$s", (row.Shard + 1) % CatalogLayout.Default.Shards), ("$id", SqliteCatalogStore.Key(image.Id))));
        }

        await using (var restarted = await GlanceTestCluster.StartAsync(_directory.Path))
        {
            Assert.Contains(image.Id, Ids(await restarted.Catalog.ListAsync(owner, new ImageQuery())));
            Assert.Contains(image.Id, Ids(await restarted.Catalog.ListAsync(admin, new ImageQuery { Limit = 100 })));
        }
        var repaired = ReadCatalogRow(image.Id)!;
        Assert.Equal(row.Shard, repaired.Shard);
        Assert.NotNull(repaired.Entry);
    }

    private static Guid[] Ids(IEnumerable<ImageRecord> images) => [.. images.Select(i => i.Id)];

    private static async Task<string[]> SnapshotsAsync(GlanceTestCluster cluster, Caller caller, params Guid[] ids)
    {
        var snapshots = new List<string>();
        foreach (var id in ids)
        {
            snapshots.Add(Snapshot(await cluster.Image(id).GetAsync(caller)));
        }
        return [.. snapshots];
    }
}
