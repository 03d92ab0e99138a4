using Glance.Grains.Errors;
using Glance.Grains.Identity;
using Glance.Grains.Images;
using static Glance.Grains.Tests.Support;

namespace Glance.Grains.Tests;

/// <summary>POST /v2/images rules (spec sections 2 and 10: tempest test_images and test_images_negative).</summary>
[Collection(ClusterCollection.Name)]
public sealed class CreateTests(ClusterFixture fixture)
{
    private readonly GlanceTestCluster _cluster = fixture.Cluster;

    [Fact]
    public async Task Create_applies_glance_defaults_and_the_callers_project_as_owner()
    {
        var project = NewProject();
        var id = Guid.NewGuid();

        var created = await _cluster.Image(id).CreateAsync(Caller.Member(project), ImageDraft.Empty);

        Assert.Equal(id, created.Id);
        Assert.Equal(ImageStatus.Queued, created.Status);
        Assert.Equal(ImageVisibility.Shared, created.Visibility);
        Assert.False(created.Protected);
        Assert.False(created.OsHidden);
        Assert.Equal(project, created.Owner);
        Assert.Null(created.Name);
        Assert.Null(created.Checksum);
        Assert.Null(created.OsHashAlgo);
        Assert.Null(created.OsHashValue);
        Assert.Null(created.Size);
        Assert.Null(created.VirtualSize);
        Assert.Null(created.ContainerFormat);
        Assert.Null(created.DiskFormat);
        Assert.Equal(0, created.MinDisk);
        Assert.Equal(0, created.MinRam);
        Assert.Empty(created.Tags);
        Assert.Empty(created.Properties);
        Assert.Equal(created.CreatedAt, created.UpdatedAt);
        Assert.Equal(TimeSpan.Zero, created.CreatedAt.Offset);
        Assert.Equal(0, created.CreatedAt.Ticks % TimeSpan.TicksPerSecond);
        Assert.InRange(created.CreatedAt, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddSeconds(1));

        var shown = await _cluster.Image(id).GetAsync(Caller.Member(project));
        Assert.Equal(Snapshot(created), Snapshot(shown));
    }

    [Fact]
    public async Task Create_stores_the_given_attributes_and_properties()
    {
        var project = NewProject();
        var kernel = Guid.NewGuid().ToString();
        var draft = ImageDraft.Empty
            .With("name", "cirros")
            .With("visibility", "private")
            .With("protected", true)
            .With("min_disk", 2)
            .With("min_ram", 512)
            .With("container_format", "bare")
            .With("disk_format", "qcow2")
            .With("tags", new[] { "b", "a", "b" })
            .With("kernel_id", kernel)
            .With("hw_disk_bus", "scsi")
            .With("owner", project);

        var created = await _cluster.CreateAsync(Caller.Member(project), draft);

        Assert.Equal("cirros", created.Name);
        Assert.Equal(ImageVisibility.Private, created.Visibility);
        Assert.True(created.Protected);
        Assert.Equal(2, created.MinDisk);
        Assert.Equal(512, created.MinRam);
        Assert.Equal("bare", created.ContainerFormat);
        Assert.Equal("qcow2", created.DiskFormat);
        Assert.Equal(new[] { "a", "b" }, created.Tags.ToArray());
        Assert.Equal(kernel, created.Properties["kernel_id"]);
        Assert.Equal("scsi", created.Properties["hw_disk_bus"]);
        Assert.Equal(2, created.Properties.Count);
        Assert.Equal(project, created.Owner);
    }

    [Fact]
    public async Task Create_with_an_explicit_matching_id_works_and_a_different_id_is_a_bad_request()
    {
        var id = Guid.NewGuid();
        var caller = Caller.Member(NewProject());

        await ThrowsGlance(ErrorKind.BadRequest,
            () => _cluster.Image(id).CreateAsync(caller, ImageDraft.Empty.With("id", Guid.NewGuid().ToString())));
        var created = await _cluster.Image(id).CreateAsync(caller, ImageDraft.Empty.With("id", id.ToString()));

        Assert.Equal(id, created.Id);
    }

    [Fact]
    public async Task Create_with_a_used_id_is_a_conflict_and_leaves_the_first_image_alone()
    {
        var id = Guid.NewGuid();
        var owner = Caller.Member(NewProject());
        var first = await _cluster.Image(id).CreateAsync(owner, ImageDraft.Empty.With("name", "first"));

        await ThrowsGlance(ErrorKind.Conflict, () => _cluster.Image(id).CreateAsync(owner, ImageDraft.Empty.With("name", "second")));
        // Another project may not take the id over either.
        await ThrowsGlance(ErrorKind.Conflict, () => _cluster.Image(id).CreateAsync(Caller.Member(NewProject()), ImageDraft.Empty));

        Assert.Equal(Snapshot(first), Snapshot(await _cluster.Image(id).GetAsync(owner)));
    }

    [Theory]
    [InlineData("status", "\"active\"")]
    [InlineData("size", "1024")]
    [InlineData("checksum", "\"64d7c1cd2b6f60c92c14662941cb7913\"")]
    [InlineData("virtual_size", "1024")]
    [InlineData("created_at", "\"2014-05-05T17:15:10Z\"")]
    [InlineData("os_hash_value", "\"abc\"")]
    [InlineData("self", "\"/v2/images/x\"")]
    [InlineData("location", "\"http://example.com/image\"")]
    [InlineData("deleted", "true")]
    [InlineData("deleted_at", "\"2014-05-05T17:15:10Z\"")]
    [InlineData("os_glance_foo", "\"bar\"")]
    [InlineData("os_glance_import_task", "\"x\"")]
    public async Task Create_with_a_read_only_or_reserved_attribute_is_forbidden_and_creates_nothing(string attribute, string json)
    {
        var id = Guid.NewGuid();
        var owner = Caller.Member(NewProject());
        var draft = new ImageDraft(ImageDraft.Empty.Attributes.Add("name", "\"x\"").Add(attribute, json));

        await ThrowsGlance(ErrorKind.Forbidden, () => _cluster.Image(id).CreateAsync(owner, draft));

        await ThrowsGlance(ErrorKind.NotFound, () => _cluster.Image(id).GetAsync(owner));
        var created = await _cluster.Image(id).CreateAsync(owner, ImageDraft.Empty);
        Assert.Equal(ImageStatus.Queued, created.Status);
    }

    public static TheoryData<string, object?> SchemaViolations() => new()
    {
        { "disk_format", "floppy" },
        { "container_format", "zip" },
        { "disk_format", 7 },
        { "name", new string('n', 256) },
        { "visibility", "everyone" },
        { "protected", "yes" },
        { "min_ram", -1 },
        { "min_disk", "1" },
        { "tags", "not-a-list" },
        { "tags", new[] { new string('t', 256) } },
        { "hw_disk_bus", 5 },
        { "hw_disk_bus", true },
        { "hw_disk_bus", new[] { "a" } },
        { new string('k', 256), "v" },
        { "kernel_id", "not-a-uuid" },
        { "ramdisk_id", "1234" },
        { "cinder_encryption_key_deletion_policy", "sometimes" },
        { "os_distro", null },
    };

    [Theory]
    [MemberData(nameof(SchemaViolations))]
    public async Task Create_with_a_value_breaking_the_schema_is_a_bad_request(string attribute, object? value)
    {
        var id = Guid.NewGuid();
        var owner = Caller.Member(NewProject());

        await ThrowsGlance(ErrorKind.BadRequest, () => _cluster.Image(id).CreateAsync(owner, ImageDraft.Empty.With(attribute, value)));

        await ThrowsGlance(ErrorKind.NotFound, () => _cluster.Image(id).GetAsync(owner));
    }

    [Fact]
    public async Task Create_accepts_boundary_values_of_the_schema()
    {
        var owner = Caller.Member(NewProject());
        var draft = ImageDraft.Empty
            .With("name", new string('n', 255))
            .With(new string('k', 255), "v")
            .With("kernel_id", null) // nullable in Glance's schema
            .With("description", "");

        var created = await _cluster.CreateAsync(owner, draft);

        Assert.Equal(255, created.Name!.Length);
        Assert.Equal("", created.Properties["kernel_id"]);
        Assert.Equal("v", created.Properties[new string('k', 255)]);
    }

    [Fact]
    public async Task Only_an_admin_may_create_a_public_image()
    {
        var project = NewProject();
        var id = Guid.NewGuid();

        await ThrowsGlance(ErrorKind.Forbidden,
            () => _cluster.Image(id).CreateAsync(Caller.Member(project), ImageDraft.Empty.With("visibility", "public")));
        await ThrowsGlance(ErrorKind.NotFound, () => _cluster.Image(id).GetAsync(Caller.Admin(project)));

        var community = await _cluster.CreateAsync(Caller.Member(project), ImageDraft.Empty.With("visibility", "community"));
        Assert.Equal(ImageVisibility.Community, community.Visibility);

        var byAdmin = await _cluster.Image(id).CreateAsync(Caller.Admin(project), ImageDraft.Empty.With("visibility", "public"));
        Assert.Equal(ImageVisibility.Public, byAdmin.Visibility);
    }

    [Fact]
    public async Task Only_an_admin_may_create_an_image_for_another_project()
    {
        var project = NewProject();
        var other = NewProject();
        var id = Guid.NewGuid();

        await ThrowsGlance(ErrorKind.Forbidden,
            () => _cluster.Image(id).CreateAsync(Caller.Member(project), ImageDraft.Empty.With("owner", other)));
        await ThrowsGlance(ErrorKind.NotFound, () => _cluster.Image(id).GetAsync(Caller.Admin(project)));

        var byAdmin = await _cluster.Image(id).CreateAsync(Caller.Admin(project), ImageDraft.Empty.With("owner", other));
        Assert.Equal(other, byAdmin.Owner);
        // The new owner owns it: it can change it; the admin's project, as a plain member, cannot even see it.
        Assert.Equal(other, (await _cluster.Image(id).UpdateAsync(Caller.Member(other), [PatchOperation.Replace("name", "mine")])).Owner);
        await ThrowsGlance(ErrorKind.NotFound, () => _cluster.Image(id).UpdateAsync(Caller.Member(project), [PatchOperation.Replace("name", "x")]));
    }

    [Fact]
    public async Task Property_quota_allows_128_properties_and_rejects_129_with_413()
    {
        var owner = Caller.Member(NewProject());
        var atQuota = ImageDraft.Empty;
        for (var i = 0; i < 128; i++)
        {
            atQuota = atQuota.With($"prop_{i}", "v");
        }
        var id = Guid.NewGuid();

        await ThrowsGlance(ErrorKind.TooLarge, () => _cluster.Image(id).CreateAsync(owner, atQuota.With("prop_128", "v")));
        await ThrowsGlance(ErrorKind.NotFound, () => _cluster.Image(id).GetAsync(owner));

        var created = await _cluster.Image(id).CreateAsync(owner, atQuota);
        Assert.Equal(128, created.Properties.Count);
        await ThrowsGlance(ErrorKind.TooLarge, () => _cluster.Image(id).UpdateAsync(owner, [PatchOperation.Add("one_more", "v")]));
        Assert.Equal(128, (await _cluster.Image(id).GetAsync(owner)).Properties.Count);
    }

    [Fact]
    public async Task Tag_quota_allows_128_tags_and_rejects_the_129th()
    {
        var owner = Caller.Member(NewProject());
        var tags = Enumerable.Range(0, 128).Select(i => $"tag-{i}").ToArray();
        var created = await _cluster.CreateAsync(owner, ImageDraft.Empty.With("tags", tags));
        Assert.Equal(128, created.Tags.Length);

        await ThrowsGlance(ErrorKind.TooLarge, () => _cluster.Image(created.Id).TagAsync(owner, "tag-128"));
        await ThrowsGlance(ErrorKind.TooLarge,
            () => _cluster.CreateAsync(owner, ImageDraft.Empty.With("tags", tags.Append("tag-128").ToArray())));
    }

    [Fact]
    public async Task A_glance_exception_crosses_the_grain_boundary_with_its_kind_and_message()
    {
        var missing = Guid.NewGuid();

        var error = await ThrowsGlance(ErrorKind.NotFound, () => _cluster.Image(missing).GetAsync(Caller.Member(NewProject())));

        Assert.IsType<GlanceException>(error);
        Assert.Contains(missing.ToString(), error.Message);
        // Every kind survives the trip, not just the first enum value.
        var tooLarge = await ThrowsGlance(ErrorKind.TooLarge, async () =>
        {
            var draft = ImageDraft.Empty;
            for (var i = 0; i < 129; i++)
            {
                draft = draft.With($"p{i}", "v");
            }
            await _cluster.CreateAsync(Caller.Member(NewProject()), draft);
        });
        Assert.Contains("129", tooLarge.Message);
    }
}
