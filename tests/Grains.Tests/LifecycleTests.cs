using Glance.Grains.Errors;
using Glance.Grains.Identity;
using Glance.Grains.Images;
using static Glance.Grains.Tests.Support;

namespace Glance.Grains.Tests;

/// <summary>Tags, deactivation and deletion (spec section 3; tempest test_images_tags and test_images_negative).</summary>
[Collection(ClusterCollection.Name)]
public sealed class LifecycleTests(ClusterFixture fixture)
{
    private readonly GlanceTestCluster _cluster = fixture.Cluster;

    [Fact]
    public async Task Tagging_is_idempotent_and_untagging_removes_the_tag()
    {
        var owner = Caller.Member(NewProject());
        var created = await _cluster.CreateAsync(owner);
        var image = _cluster.Image(created.Id);

        await image.TagAsync(owner, "fedora");
        var once = await image.GetAsync(owner);
        await image.TagAsync(owner, "fedora");
        await image.TagAsync(owner, "beefy");

        var tagged = await image.GetAsync(owner);
        Assert.Equal(new[] { "beefy", "fedora" }, tagged.Tags.ToArray());
        Assert.Equal(new[] { "fedora" }, once.Tags.ToArray());

        await image.UntagAsync(owner, "fedora");
        Assert.Equal(new[] { "beefy" }, (await image.GetAsync(owner)).Tags.ToArray());
    }

    [Fact]
    public async Task Untagging_a_tag_the_image_does_not_carry_is_not_found()
    {
        var owner = Caller.Member(NewProject());
        var created = await _cluster.CreateAsync(owner, ImageDraft.Empty.With("tags", new[] { "a" }));

        await ThrowsGlance(ErrorKind.NotFound, () => _cluster.Image(created.Id).UntagAsync(owner, "b"));

        Assert.Equal(new[] { "a" }, (await _cluster.Image(created.Id).GetAsync(owner)).Tags.ToArray());
    }

    [Fact]
    public async Task Tag_rules_unknown_image_is_not_found_too_long_is_bad_request_non_owner_is_forbidden()
    {
        var owner = Caller.Member(NewProject());
        var created = await _cluster.CreateAsync(Caller.Admin(owner.ProjectId), ImageDraft.Empty.With("visibility", "public"));

        await ThrowsGlance(ErrorKind.NotFound, () => _cluster.Image(Guid.NewGuid()).TagAsync(owner, "x"));
        await ThrowsGlance(ErrorKind.BadRequest, () => _cluster.Image(created.Id).TagAsync(owner, new string('t', 256)));
        await ThrowsGlance(ErrorKind.Forbidden, () => _cluster.Image(created.Id).TagAsync(Caller.Member(NewProject()), "x"));
        await _cluster.Image(created.Id).TagAsync(owner, new string('t', 255));
    }

    [Fact]
    public async Task Deactivate_and_reactivate_of_a_queued_image_are_forbidden()
    {
        var owner = Caller.Member(NewProject());
        var created = await _cluster.CreateAsync(owner);

        await ThrowsGlance(ErrorKind.Forbidden, () => _cluster.Image(created.Id).DeactivateAsync(owner));
        await ThrowsGlance(ErrorKind.Forbidden, () => _cluster.Image(created.Id).ReactivateAsync(owner));
        await ThrowsGlance(ErrorKind.Forbidden, () => _cluster.Image(created.Id).DeactivateAsync(Caller.Admin(NewProject())));

        Assert.Equal(ImageStatus.Queued, (await _cluster.Image(created.Id).GetAsync(owner)).Status);
    }

    [Fact]
    public async Task A_protected_image_cannot_be_deleted_until_unprotected()
    {
        var owner = Caller.Member(NewProject());
        var created = await _cluster.CreateAsync(owner, ImageDraft.Empty.With("protected", true));
        var image = _cluster.Image(created.Id);

        await ThrowsGlance(ErrorKind.Forbidden, () => image.DeleteAsync(owner));
        await ThrowsGlance(ErrorKind.Forbidden, () => image.DeleteAsync(Caller.Admin(NewProject())));
        Assert.Equal(ImageStatus.Queued, (await image.GetAsync(owner)).Status);

        await image.UpdateAsync(owner, [PatchOperation.Replace("protected", false)]);
        await image.DeleteAsync(owner);
        await ThrowsGlance(ErrorKind.NotFound, () => image.GetAsync(owner));
    }

    [Fact]
    public async Task A_deleted_image_is_gone_everywhere_and_its_id_is_never_reused()
    {
        var owner = Caller.Member(NewProject());
        var created = await _cluster.CreateAsync(owner, ImageDraft.Empty.With("visibility", "shared"));
        var image = _cluster.Image(created.Id);
        await image.AddMemberAsync(owner, NewProject());
        Assert.Contains(created.Id, await _cluster.ListedIdsAsync(owner));

        await image.DeleteAsync(owner);

        await ThrowsGlance(ErrorKind.NotFound, () => image.GetAsync(owner));
        await ThrowsGlance(ErrorKind.NotFound, () => image.GetAsync(Caller.Admin(NewProject())));
        await ThrowsGlance(ErrorKind.NotFound, () => image.DeleteAsync(owner));
        await ThrowsGlance(ErrorKind.NotFound, () => image.UpdateAsync(owner, [PatchOperation.Replace("name", "x")]));
        await ThrowsGlance(ErrorKind.NotFound, () => image.TagAsync(owner, "x"));
        await ThrowsGlance(ErrorKind.NotFound, () => image.ListMembersAsync(owner));
        Assert.DoesNotContain(created.Id, await _cluster.ListedIdsAsync(owner));
        Assert.DoesNotContain(created.Id, await _cluster.ListedIdsAsync(Caller.Admin(NewProject()), new() { Visibility = Catalog.VisibilityScope.All }));
        await ThrowsGlance(ErrorKind.Conflict, () => image.CreateAsync(owner, ImageDraft.Empty));
    }

    [Fact]
    public async Task Only_the_owner_or_an_admin_may_delete()
    {
        var owner = Caller.Member(NewProject());
        var created = await _cluster.CreateAsync(Caller.Admin(owner.ProjectId), ImageDraft.Empty.With("visibility", "public"));

        await ThrowsGlance(ErrorKind.Forbidden, () => _cluster.Image(created.Id).DeleteAsync(Caller.Member(NewProject())));
        await _cluster.Image(created.Id).DeleteAsync(Caller.Admin(NewProject()));

        await ThrowsGlance(ErrorKind.NotFound, () => _cluster.Image(created.Id).GetAsync(owner));
    }
}
