using Glance.Grains.Catalog;
using Glance.Grains.Errors;
using Glance.Grains.Identity;
using Glance.Grains.Images;
using static Glance.Grains.Tests.Support;

namespace Glance.Grains.Tests;

/// <summary>Image sharing (spec section 5; tempest test_images_member and its negative tests).</summary>
[Collection(ClusterCollection.Name)]
public sealed class MemberTests(ClusterFixture fixture)
{
    private readonly GlanceTestCluster _cluster = fixture.Cluster;

    private async Task<(Caller Owner, Caller Member, IImageGrain Image, Guid Id)> SharedImageAsync()
    {
        var owner = Caller.Member(NewProject("owner"));
        var member = Caller.Member(NewProject("member"));
        var created = await _cluster.CreateAsync(owner, ImageDraft.Empty.With("visibility", "shared"));
        return (owner, member, _cluster.Image(created.Id), created.Id);
    }

    [Fact]
    public async Task A_new_member_is_pending_can_show_the_image_but_does_not_list_it_until_it_accepts()
    {
        var (owner, member, image, id) = await SharedImageAsync();
        await ThrowsGlance(ErrorKind.NotFound, () => image.GetAsync(member));

        var added = await image.AddMemberAsync(owner, member.ProjectId!);

        Assert.Equal(MemberStatus.Pending, added.Status);
        Assert.Equal(id, added.ImageId);
        Assert.Equal(member.ProjectId, added.MemberId);
        Assert.Equal(id, (await image.GetAsync(member)).Id);
        Assert.DoesNotContain(id, await _cluster.ListedIdsAsync(member));
        Assert.DoesNotContain(id, await _cluster.ListedIdsAsync(member, new ImageQuery { Visibility = VisibilityScope.Shared }));
        Assert.DoesNotContain(id, await _cluster.ListedIdsAsync(member, new ImageQuery { Visibility = VisibilityScope.All }));
        // tempest ListSharedImagesTest: visibility=shared&member_status=pending lists exactly it.
        Assert.Contains(id, await _cluster.ListedIdsAsync(member,
            new ImageQuery { Visibility = VisibilityScope.Shared, MemberStatus = MemberStatus.Pending }));
        Assert.Contains(id, await _cluster.ListedIdsAsync(member, new ImageQuery { MemberStatus = null }));

        var accepted = await image.SetMemberStatusAsync(member, member.ProjectId!, MemberStatus.Accepted);

        Assert.Equal(MemberStatus.Accepted, accepted.Status);
        Assert.True(accepted.UpdatedAt >= added.UpdatedAt);
        Assert.Equal(added.CreatedAt, accepted.CreatedAt);
        Assert.Contains(id, await _cluster.ListedIdsAsync(member));
        Assert.Contains(id, await _cluster.ListedIdsAsync(member, new ImageQuery { Visibility = VisibilityScope.Shared }));
        Assert.Contains(id, await _cluster.ListedIdsAsync(member, new ImageQuery { Visibility = VisibilityScope.All }));
        Assert.DoesNotContain(id, await _cluster.ListedIdsAsync(member,
            new ImageQuery { Visibility = VisibilityScope.Shared, MemberStatus = MemberStatus.Pending }));
        Assert.Equal(MemberStatus.Accepted, (await image.GetMemberAsync(member, member.ProjectId!)).Status);
    }

    [Fact]
    public async Task A_rejected_share_stays_showable_but_unlisted()
    {
        var (owner, member, image, id) = await SharedImageAsync();
        await image.AddMemberAsync(owner, member.ProjectId!);
        await image.SetMemberStatusAsync(member, member.ProjectId!, MemberStatus.Accepted);

        var rejected = await image.SetMemberStatusAsync(member, member.ProjectId!, MemberStatus.Rejected);

        Assert.Equal(MemberStatus.Rejected, rejected.Status);
        Assert.DoesNotContain(id, await _cluster.ListedIdsAsync(member));
        Assert.Contains(id, await _cluster.ListedIdsAsync(member, new ImageQuery { MemberStatus = MemberStatus.Rejected }));
        Assert.Equal(id, (await image.GetAsync(member)).Id);
        // A member may go back to pending.
        Assert.Equal(MemberStatus.Pending, (await image.SetMemberStatusAsync(member, member.ProjectId!, MemberStatus.Pending)).Status);
    }

    [Fact]
    public async Task The_owner_cannot_answer_for_a_member_but_an_admin_can()
    {
        var (owner, member, image, id) = await SharedImageAsync();
        var other = Caller.Member(NewProject());
        await image.AddMemberAsync(owner, member.ProjectId!);
        await image.AddMemberAsync(owner, other.ProjectId!);

        await ThrowsGlance(ErrorKind.Forbidden, () => image.SetMemberStatusAsync(owner, member.ProjectId!, MemberStatus.Accepted));
        // Another member must not learn who else the image is shared with: absent, as for a project never added.
        await ThrowsGlance(ErrorKind.NotFound, () => image.SetMemberStatusAsync(other, member.ProjectId!, MemberStatus.Accepted));
        await ThrowsGlance(ErrorKind.NotFound, () => image.SetMemberStatusAsync(Caller.Member(NewProject()), member.ProjectId!, MemberStatus.Accepted));
        Assert.Equal(MemberStatus.Pending, (await image.GetMemberAsync(member, member.ProjectId!)).Status);

        var byAdmin = await image.SetMemberStatusAsync(Caller.Admin(NewProject()), member.ProjectId!, MemberStatus.Accepted);
        Assert.Equal(MemberStatus.Accepted, byAdmin.Status);
        Assert.Contains(id, await _cluster.ListedIdsAsync(member));
    }

    [Fact]
    public async Task The_owner_lists_every_member_a_member_only_itself()
    {
        var (owner, member, image, _) = await SharedImageAsync();
        var other = Caller.Member(NewProject());
        await image.AddMemberAsync(owner, member.ProjectId!);
        await image.AddMemberAsync(owner, other.ProjectId!);
        await image.SetMemberStatusAsync(member, member.ProjectId!, MemberStatus.Accepted);

        var all = await image.ListMembersAsync(owner);
        Assert.Equal(new[] { member.ProjectId, other.ProjectId }.Order(), all.Select(m => m.MemberId).Order());
        Assert.Equal(all.Length, (await image.ListMembersAsync(Caller.Admin(NewProject()))).Length);

        var mine = Assert.Single(await image.ListMembersAsync(member));
        Assert.Equal(member.ProjectId, mine.MemberId);
        Assert.Equal(MemberStatus.Accepted, mine.Status);
        Assert.Equal(other.ProjectId, Assert.Single(await image.ListMembersAsync(other)).MemberId);
        await ThrowsGlance(ErrorKind.NotFound, () => image.ListMembersAsync(Caller.Member(NewProject())));
    }

    [Fact]
    public async Task Get_member_is_not_found_for_every_failure()
    {
        var (owner, member, image, _) = await SharedImageAsync();
        var other = Caller.Member(NewProject());
        await image.AddMemberAsync(owner, member.ProjectId!);
        await image.AddMemberAsync(owner, other.ProjectId!);

        Assert.Equal(member.ProjectId, (await image.GetMemberAsync(owner, member.ProjectId!)).MemberId);
        Assert.Equal(member.ProjectId, (await image.GetMemberAsync(member, member.ProjectId!)).MemberId);
        // Another member may not look at its neighbour's entry.
        await ThrowsGlance(ErrorKind.NotFound, () => image.GetMemberAsync(other, member.ProjectId!));
        // A stranger cannot see the image at all.
        await ThrowsGlance(ErrorKind.NotFound, () => image.GetMemberAsync(Caller.Member(NewProject()), member.ProjectId!));
        // No such member.
        await ThrowsGlance(ErrorKind.NotFound, () => image.GetMemberAsync(owner, NewProject()));
        // No such image.
        await ThrowsGlance(ErrorKind.NotFound, () => _cluster.Image(Guid.NewGuid()).GetMemberAsync(owner, member.ProjectId!));
        // Not shared any more.
        await image.UpdateAsync(owner, [PatchOperation.Replace("visibility", "private")]);
        await ThrowsGlance(ErrorKind.NotFound, () => image.GetMemberAsync(owner, member.ProjectId!));
    }

    [Fact]
    public async Task Only_shared_images_take_members_only_the_owner_adds_them_once()
    {
        var owner = Caller.Member(NewProject());
        var member = NewProject();
        foreach (var visibility in new[] { "private", "community" })
        {
            var created = await _cluster.CreateAsync(owner, ImageDraft.Empty.With("visibility", visibility));
            await ThrowsGlance(ErrorKind.Forbidden, () => _cluster.Image(created.Id).AddMemberAsync(owner, member));
            await ThrowsGlance(ErrorKind.Forbidden, () => _cluster.Image(created.Id).ListMembersAsync(owner));
        }
        var publicImage = await _cluster.CreateAsync(Caller.Admin(owner.ProjectId), ImageDraft.Empty.With("visibility", "public"));
        await ThrowsGlance(ErrorKind.Forbidden, () => _cluster.Image(publicImage.Id).AddMemberAsync(owner, member));

        var (shareOwner, shareMember, image, _) = await SharedImageAsync();
        await image.AddMemberAsync(shareOwner, shareMember.ProjectId!);
        await ThrowsGlance(ErrorKind.Conflict, () => image.AddMemberAsync(shareOwner, shareMember.ProjectId!));
        await ThrowsGlance(ErrorKind.Forbidden, () => image.AddMemberAsync(shareMember, NewProject()));
        await ThrowsGlance(ErrorKind.BadRequest, () => image.AddMemberAsync(shareOwner, ""));
        Assert.Single(await image.ListMembersAsync(shareOwner));
    }

    [Fact]
    public async Task Removing_a_member_revokes_access()
    {
        var (owner, member, image, id) = await SharedImageAsync();
        await image.AddMemberAsync(owner, member.ProjectId!);
        await image.SetMemberStatusAsync(member, member.ProjectId!, MemberStatus.Accepted);
        Assert.Contains(id, await _cluster.ListedIdsAsync(member));

        await ThrowsGlance(ErrorKind.Forbidden, () => image.RemoveMemberAsync(member, member.ProjectId!));
        await image.RemoveMemberAsync(owner, member.ProjectId!);

        Assert.Empty(await image.ListMembersAsync(owner));
        await ThrowsGlance(ErrorKind.NotFound, () => image.GetAsync(member));
        await ThrowsGlance(ErrorKind.NotFound, () => image.GetMemberAsync(owner, member.ProjectId!));
        Assert.DoesNotContain(id, await _cluster.ListedIdsAsync(member, new ImageQuery { MemberStatus = null }));
        await ThrowsGlance(ErrorKind.NotFound, () => image.RemoveMemberAsync(owner, member.ProjectId!));
        // It may be shared again, and starts over as pending.
        Assert.Equal(MemberStatus.Pending, (await image.AddMemberAsync(owner, member.ProjectId!)).Status);
    }

    [Fact]
    public async Task Members_stop_granting_access_when_the_image_is_no_longer_shared_and_resume_when_it_is_again()
    {
        var (owner, member, image, id) = await SharedImageAsync();
        await image.AddMemberAsync(owner, member.ProjectId!);
        await image.SetMemberStatusAsync(member, member.ProjectId!, MemberStatus.Accepted);

        await image.UpdateAsync(owner, [PatchOperation.Replace("visibility", "private")]);

        await ThrowsGlance(ErrorKind.NotFound, () => image.GetAsync(member));
        Assert.DoesNotContain(id, await _cluster.ListedIdsAsync(member, new ImageQuery { Visibility = VisibilityScope.All, MemberStatus = null }));

        await image.UpdateAsync(owner, [PatchOperation.Replace("visibility", "shared")]);

        Assert.Equal(id, (await image.GetAsync(member)).Id);
        Assert.Contains(id, await _cluster.ListedIdsAsync(member));
        Assert.Equal(MemberStatus.Accepted, Assert.Single(await image.ListMembersAsync(owner)).Status);
    }
}
