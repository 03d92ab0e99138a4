using Glance.Grains.Catalog;
using Glance.Grains.Errors;
using Glance.Grains.Identity;
using Glance.Grains.Images;
using static Glance.Grains.Tests.Support;

namespace Glance.Grains.Tests;

/// <summary>PATCH /v2/images/{id} semantics (spec section 7).</summary>
[Collection(ClusterCollection.Name)]
public sealed class PatchTests(ClusterFixture fixture)
{
    private readonly GlanceTestCluster _cluster = fixture.Cluster;

    private async Task<(Caller Owner, IImageGrain Image, ImageRecord Created)> NewImageAsync(ImageDraft? draft = null)
    {
        var owner = Caller.Member(NewProject());
        var created = await _cluster.CreateAsync(owner, draft);
        return (owner, _cluster.Image(created.Id), created);
    }

    [Fact]
    public async Task Replace_name_changes_it_and_bumps_updated_at_only()
    {
        var (owner, image, created) = await NewImageAsync(ImageDraft.Empty.With("name", "before"));

        var updated = await image.UpdateAsync(owner, [PatchOperation.Replace("name", "Fedora 17")]);

        Assert.Equal("Fedora 17", updated.Name);
        Assert.Equal(created.CreatedAt, updated.CreatedAt);
        Assert.True(updated.UpdatedAt >= created.UpdatedAt);
        Assert.Equal(Snapshot(updated), Snapshot(await image.GetAsync(owner)));
        // The list sees the change too (the catalog entry was republished).
        var listed = await _cluster.Catalog.ListAsync(owner, new ImageQuery());
        Assert.Equal("Fedora 17", Assert.Single(listed, i => i.Id == created.Id).Name);
    }

    [Fact]
    public async Task Replace_name_with_null_clears_it()
    {
        var (owner, image, _) = await NewImageAsync(ImageDraft.Empty.With("name", "x"));

        var updated = await image.UpdateAsync(owner, [PatchOperation.Replace("name", null)]);

        Assert.Null(updated.Name);
    }

    [Fact]
    public async Task Add_is_an_upsert_for_properties()
    {
        var (owner, image, _) = await NewImageAsync();

        await image.UpdateAsync(owner, [PatchOperation.Add("hw_disk_bus", "scsi")]);
        var updated = await image.UpdateAsync(owner, [PatchOperation.Add("hw_disk_bus", "virtio")]);

        Assert.Equal("virtio", updated.Properties["hw_disk_bus"]);
        Assert.Single(updated.Properties);
    }

    [Fact]
    public async Task Add_tags_replaces_the_whole_set()
    {
        var (owner, image, _) = await NewImageAsync(ImageDraft.Empty.With("tags", new[] { "old1", "old2" }));

        var updated = await image.UpdateAsync(owner, [PatchOperation.Add("tags", new[] { "fedora", "beefy", "fedora" })]);

        Assert.Equal(new[] { "beefy", "fedora" }, updated.Tags.ToArray());
    }

    [Fact]
    public async Task Add_in_the_v20_dialect_on_an_existing_property_is_a_conflict()
    {
        var (owner, image, _) = await NewImageAsync(ImageDraft.Empty.With("foo", "bar"));

        await ThrowsGlance(ErrorKind.Conflict, () => image.UpdateAsync(owner, [new PatchOperation(PatchOp.AddNew, "foo", "\"baz\"")]));
        var added = await image.UpdateAsync(owner, [new PatchOperation(PatchOp.AddNew, "other", "\"v\"")]);

        Assert.Equal("bar", added.Properties["foo"]);
        Assert.Equal("v", added.Properties["other"]);
    }

    [Fact]
    public async Task Replace_or_remove_of_a_missing_property_is_a_conflict()
    {
        var (owner, image, _) = await NewImageAsync();

        await ThrowsGlance(ErrorKind.Conflict, () => image.UpdateAsync(owner, [PatchOperation.Replace("missing", "v")]));
        await ThrowsGlance(ErrorKind.Conflict, () => image.UpdateAsync(owner, [PatchOperation.Remove("missing")]));

        Assert.Empty((await image.GetAsync(owner)).Properties);
    }

    [Fact]
    public async Task Replace_and_remove_of_an_existing_property_work()
    {
        var (owner, image, _) = await NewImageAsync(ImageDraft.Empty.With("a", "1").With("b", "2"));

        var updated = await image.UpdateAsync(owner, [PatchOperation.Replace("a", "one"), PatchOperation.Remove("b")]);

        Assert.Equal("one", updated.Properties["a"]);
        Assert.False(updated.Properties.ContainsKey("b"));
    }

    [Theory]
    [InlineData("name")]
    [InlineData("tags")]
    [InlineData("visibility")]
    [InlineData("min_ram")]
    [InlineData("disk_format")]
    [InlineData("owner")]
    public async Task Remove_of_a_base_attribute_is_forbidden(string attribute)
    {
        var (owner, image, created) = await NewImageAsync(ImageDraft.Empty.With("name", "n").With("disk_format", "raw"));

        await ThrowsGlance(ErrorKind.Forbidden, () => image.UpdateAsync(owner, [PatchOperation.Remove(attribute)]));

        Assert.Equal(Snapshot(created), Snapshot(await image.GetAsync(owner)));
    }

    [Theory]
    [InlineData("status", "\"active\"")]
    [InlineData("size", "1")]
    [InlineData("id", "\"00000000-0000-0000-0000-000000000001\"")]
    [InlineData("created_at", "\"2014-05-05T17:15:10Z\"")]
    [InlineData("checksum", "\"abc\"")]
    [InlineData("location", "\"http://example.com\"")]
    [InlineData("deleted", "false")]
    [InlineData("os_glance_foo", "\"bar\"")]
    public async Task Writing_a_read_only_or_reserved_attribute_is_forbidden(string attribute, string json)
    {
        var (owner, image, created) = await NewImageAsync();

        await ThrowsGlance(ErrorKind.Forbidden, () => image.UpdateAsync(owner, [new PatchOperation(PatchOp.Add, attribute, json)]));
        await ThrowsGlance(ErrorKind.Forbidden, () => image.UpdateAsync(owner, [new PatchOperation(PatchOp.Replace, attribute, json)]));
        await ThrowsGlance(ErrorKind.Forbidden, () => image.UpdateAsync(owner, [PatchOperation.Remove(attribute)]));

        Assert.Equal(Snapshot(created), Snapshot(await image.GetAsync(owner)));
    }

    [Theory]
    [InlineData("min_ram", "-1")]
    [InlineData("min_disk", "\"big\"")]
    [InlineData("disk_format", "\"floppy\"")]
    [InlineData("visibility", "\"world\"")]
    [InlineData("name", "42")]
    [InlineData("custom", "42")]
    [InlineData("kernel_id", "\"nope\"")]
    public async Task A_value_breaking_the_schema_is_a_bad_request(string attribute, string json)
    {
        var (owner, image, _) = await NewImageAsync(ImageDraft.Empty.With("custom", "x").With("kernel_id", Guid.NewGuid().ToString()));

        await ThrowsGlance(ErrorKind.BadRequest, () => image.UpdateAsync(owner, [new PatchOperation(PatchOp.Replace, attribute, json)]));
    }

    [Fact]
    public async Task Operations_apply_atomically_a_late_failure_leaves_nothing_changed()
    {
        var (owner, image, created) = await NewImageAsync(ImageDraft.Empty.With("name", "original").With("keep", "me"));

        await ThrowsGlance(ErrorKind.Conflict, () => image.UpdateAsync(owner,
        [
            PatchOperation.Replace("name", "changed"),
            PatchOperation.Add("added", "1"),
            PatchOperation.Remove("keep"),
            PatchOperation.Add("tags", new[] { "t" }),
            PatchOperation.Remove("missing"),
        ]));
        await ThrowsGlance(ErrorKind.Forbidden, () => image.UpdateAsync(owner,
            [PatchOperation.Replace("name", "changed"), PatchOperation.Replace("status", "active")]));
        await ThrowsGlance(ErrorKind.BadRequest, () => image.UpdateAsync(owner,
            [PatchOperation.Replace("name", "changed"), PatchOperation.Replace("min_ram", -5)]));

        Assert.Equal(Snapshot(created), Snapshot(await image.GetAsync(owner)));
        var listed = Assert.Single(await _cluster.Catalog.ListAsync(owner, new ImageQuery()), i => i.Id == created.Id);
        Assert.Equal(Snapshot(created), Snapshot(listed));

        // The grain is still usable after the failures.
        var updated = await image.UpdateAsync(owner, [PatchOperation.Replace("name", "changed"), PatchOperation.Remove("keep")]);
        Assert.Equal("changed", updated.Name);
        Assert.Empty(updated.Properties);
    }

    [Fact]
    public async Task Later_operations_see_earlier_ones_in_the_same_patch()
    {
        var (owner, image, _) = await NewImageAsync();

        var updated = await image.UpdateAsync(owner,
            [PatchOperation.Add("p", "1"), PatchOperation.Replace("p", "2"), PatchOperation.Add("q", "x"), PatchOperation.Remove("q")]);

        Assert.Equal("2", updated.Properties["p"]);
        Assert.False(updated.Properties.ContainsKey("q"));
    }

    [Fact]
    public async Task Disk_and_container_format_may_change_while_queued()
    {
        var (owner, image, _) = await NewImageAsync(ImageDraft.Empty.With("disk_format", "raw"));

        var updated = await image.UpdateAsync(owner,
            [PatchOperation.Replace("disk_format", "qcow2"), PatchOperation.Replace("container_format", "bare")]);

        Assert.Equal("qcow2", updated.DiskFormat);
        Assert.Equal("bare", updated.ContainerFormat);
    }

    [Fact]
    public async Task Only_an_admin_may_change_the_owner_and_the_list_follows_the_new_owner()
    {
        var (owner, image, created) = await NewImageAsync(ImageDraft.Empty.With("visibility", "private"));
        var newOwner = NewProject();

        await ThrowsGlance(ErrorKind.Forbidden, () => image.UpdateAsync(owner, [PatchOperation.Replace("owner", newOwner)]));
        // Re-asserting its own project as owner is not a change, so it is allowed.
        await image.UpdateAsync(owner, [PatchOperation.Replace("owner", owner.ProjectId)]);

        var moved = await image.UpdateAsync(Caller.Admin(NewProject()), [PatchOperation.Replace("owner", newOwner)]);

        Assert.Equal(newOwner, moved.Owner);
        await ThrowsGlance(ErrorKind.NotFound, () => image.GetAsync(owner));
        Assert.DoesNotContain(created.Id, await _cluster.ListedIdsAsync(owner));
        Assert.Contains(created.Id, await _cluster.ListedIdsAsync(Caller.Member(newOwner)));
        Assert.Contains(created.Id, await _cluster.ListedIdsAsync(Caller.Member(newOwner), new ImageQuery { Visibility = VisibilityScope.Private }));
    }

    [Fact]
    public async Task Only_an_admin_may_make_an_image_public_a_member_may_make_it_community()
    {
        var (owner, image, _) = await NewImageAsync();

        await ThrowsGlance(ErrorKind.Forbidden, () => image.UpdateAsync(owner, [PatchOperation.Replace("visibility", "public")]));
        Assert.Equal(ImageVisibility.Community, (await image.UpdateAsync(owner, [PatchOperation.Replace("visibility", "community")])).Visibility);
        Assert.Equal(ImageVisibility.Public,
            (await image.UpdateAsync(Caller.Admin(NewProject()), [PatchOperation.Replace("visibility", "public")])).Visibility);
        // Already public: the owner may keep it public while changing other things.
        var renamed = await image.UpdateAsync(owner, [PatchOperation.Replace("visibility", "public"), PatchOperation.Replace("name", "n")]);
        Assert.Equal("n", renamed.Name);
    }

    [Fact]
    public async Task Another_project_cannot_patch_a_public_image_and_cannot_see_a_private_one()
    {
        var publicImage = await _cluster.CreateAsync(Caller.Admin(NewProject()), ImageDraft.Empty.With("visibility", "public"));
        var (_, privateImage, _) = await NewImageAsync(ImageDraft.Empty.With("visibility", "private"));
        var stranger = Caller.Member(NewProject());

        await ThrowsGlance(ErrorKind.Forbidden, () => _cluster.Image(publicImage.Id).UpdateAsync(stranger, [PatchOperation.Replace("name", "x")]));
        await ThrowsGlance(ErrorKind.NotFound, () => privateImage.UpdateAsync(stranger, [PatchOperation.Replace("name", "x")]));
        await ThrowsGlance(ErrorKind.NotFound, () => _cluster.Image(Guid.NewGuid()).UpdateAsync(stranger, [PatchOperation.Replace("name", "x")]));
    }

    [Fact]
    public async Task Os_hidden_removes_an_image_from_the_default_list_only()
    {
        var (owner, image, created) = await NewImageAsync();
        Assert.Contains(created.Id, await _cluster.ListedIdsAsync(owner));

        await image.UpdateAsync(owner, [PatchOperation.Replace("os_hidden", true)]);

        Assert.DoesNotContain(created.Id, await _cluster.ListedIdsAsync(owner));
        Assert.Contains(created.Id, await _cluster.ListedIdsAsync(owner, new ImageQuery { OsHidden = true }));
        Assert.True((await image.GetAsync(owner)).OsHidden);
    }
}
