using Glance.Grains.Catalog;
using Glance.Grains.Errors;
using Glance.Grains.Identity;
using Glance.Grains.Images;
using static Glance.Grains.Tests.Support;

namespace Glance.Grains.Tests;

/// <summary>
/// Who can show and who lists which image (spec section 5), after glance's functional test
/// <c>test_image_visibility_to_different_users</c>: every owner has one image of each visibility.
/// Other tests share the cluster, so lists are compared on this test's images only.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class VisibilityTests(ClusterFixture fixture)
{
    private readonly GlanceTestCluster _cluster = fixture.Cluster;

    private sealed record Matrix(string Admin, string P1, string P2, Dictionary<string, ImageRecord> Images)
    {
        public IEnumerable<string> Names(Func<ImageRecord, bool> predicate) =>
            Images.Where(i => predicate(i.Value)).Select(i => i.Key).Order();
    }

    private static readonly string[] Visibilities = ["public", "private", "shared", "community"];

    private async Task<Matrix> CreateMatrixAsync()
    {
        var (admin, p1, p2) = (NewProject("admin"), NewProject("p1"), NewProject("p2"));
        var images = new Dictionary<string, ImageRecord>();
        foreach (var (label, owner) in new[] { ("admin", admin), ("p1", p1), ("p2", p2) })
        {
            foreach (var visibility in Visibilities)
            {
                // As in glance's test, an admin of the owning project creates them (only admins may publicize).
                images[$"{label}-{visibility}"] = await _cluster.CreateAsync(Caller.Admin(owner),
                    ImageDraft.Empty.With("name", $"{label}-{visibility}").With("visibility", visibility));
            }
        }
        return new Matrix(admin, p1, p2, images);
    }

    private async Task<string[]> ListedNamesAsync(Matrix matrix, Caller caller, VisibilityScope scope)
    {
        var ours = matrix.Images.Values.ToDictionary(i => i.Id, i => i.Name!);
        var listed = await _cluster.ListedIdsAsync(caller, new ImageQuery { Visibility = scope });
        return [.. listed.Where(ours.ContainsKey).Select(id => ours[id]).Order()];
    }

    [Fact]
    public async Task A_project_lists_public_images_and_its_own_by_default()
    {
        var m = await CreateMatrixAsync();
        var p1 = Caller.Member(m.P1);

        Assert.Equal(m.Names(i => i.Visibility == ImageVisibility.Public || i.Owner == m.P1),
            await ListedNamesAsync(m, p1, VisibilityScope.Default));
        Assert.Equal(["admin-public", "p1-public", "p2-public"], await ListedNamesAsync(m, p1, VisibilityScope.Public));
        Assert.Equal(["p1-private"], await ListedNamesAsync(m, p1, VisibilityScope.Private));
        Assert.Equal(["p1-shared"], await ListedNamesAsync(m, p1, VisibilityScope.Shared));
        Assert.Equal(["admin-community", "p1-community", "p2-community"], await ListedNamesAsync(m, p1, VisibilityScope.Community));
        Assert.Equal(
            m.Names(i => i.Visibility is ImageVisibility.Public or ImageVisibility.Community || i.Owner == m.P1),
            await ListedNamesAsync(m, p1, VisibilityScope.All));
    }

    [Fact]
    public async Task An_admin_lists_everything_but_other_projects_community_images_by_default()
    {
        var m = await CreateMatrixAsync();
        var admin = Caller.Admin(m.Admin);

        Assert.Equal(m.Names(i => i.Visibility != ImageVisibility.Community || i.Owner == m.Admin),
            await ListedNamesAsync(m, admin, VisibilityScope.Default));
        Assert.Equal(m.Names(i => i.Visibility != ImageVisibility.Community),
            await ListedNamesAsync(m, Caller.Admin(NewProject()), VisibilityScope.Default));
        foreach (var (scope, visibility) in new[]
        {
            (VisibilityScope.Public, ImageVisibility.Public), (VisibilityScope.Private, ImageVisibility.Private),
            (VisibilityScope.Shared, ImageVisibility.Shared), (VisibilityScope.Community, ImageVisibility.Community),
        })
        {
            Assert.Equal(m.Names(i => i.Visibility == visibility), await ListedNamesAsync(m, admin, scope));
        }
        Assert.Equal(m.Names(_ => true), await ListedNamesAsync(m, admin, VisibilityScope.All));
    }

    [Fact]
    public async Task Show_is_allowed_for_public_community_and_own_images_and_not_found_otherwise()
    {
        var m = await CreateMatrixAsync();
        var p1 = Caller.Member(m.P1);

        foreach (var image in m.Images.Values)
        {
            var visible = image.Visibility is ImageVisibility.Public or ImageVisibility.Community || image.Owner == m.P1;
            if (visible)
            {
                Assert.Equal(image.Id, (await _cluster.Image(image.Id).GetAsync(p1)).Id);
            }
            else
            {
                var error = await ThrowsGlance(ErrorKind.NotFound, () => _cluster.Image(image.Id).GetAsync(p1));
                Assert.DoesNotContain("forbidden", error.Message, StringComparison.OrdinalIgnoreCase);
            }
            // Admins see everything, whatever their project.
            Assert.Equal(image.Id, (await _cluster.Image(image.Id).GetAsync(Caller.Admin(NewProject()))).Id);
        }
    }

    [Fact]
    public async Task A_non_owner_can_read_but_not_change_public_and_community_images()
    {
        var m = await CreateMatrixAsync();
        var p2 = Caller.Member(m.P2);

        foreach (var name in new[] { "p1-public", "p1-community" })
        {
            var image = _cluster.Image(m.Images[name].Id);
            await ThrowsGlance(ErrorKind.Forbidden, () => image.UpdateAsync(p2, [PatchOperation.Replace("name", "x")]));
            await ThrowsGlance(ErrorKind.Forbidden, () => image.DeleteAsync(p2));
            await ThrowsGlance(ErrorKind.Forbidden, () => image.TagAsync(p2, "x"));
        }
        foreach (var name in new[] { "p1-private", "p1-shared" })
        {
            var image = _cluster.Image(m.Images[name].Id);
            await ThrowsGlance(ErrorKind.NotFound, () => image.UpdateAsync(p2, [PatchOperation.Replace("name", "x")]));
            await ThrowsGlance(ErrorKind.NotFound, () => image.DeleteAsync(p2));
        }
    }

    [Fact]
    public async Task Hidden_images_are_left_out_of_every_default_list_and_only_hidden_ones_are_listed_on_request()
    {
        var owner = NewProject();
        var hidden = await _cluster.CreateAsync(Caller.Admin(owner), ImageDraft.Empty.With("visibility", "public").With("os_hidden", true));
        var shown = await _cluster.CreateAsync(Caller.Admin(owner), ImageDraft.Empty.With("visibility", "public"));

        foreach (var caller in new[] { Caller.Member(owner), Caller.Member(NewProject()), Caller.Admin(NewProject()) })
        {
            var byDefault = await _cluster.ListedIdsAsync(caller);
            Assert.DoesNotContain(hidden.Id, byDefault);
            Assert.Contains(shown.Id, byDefault);
            var onlyHidden = await _cluster.ListedIdsAsync(caller, new ImageQuery { OsHidden = true, Visibility = VisibilityScope.All });
            Assert.Contains(hidden.Id, onlyHidden);
            Assert.DoesNotContain(shown.Id, onlyHidden);
            Assert.True((await _cluster.Image(hidden.Id).GetAsync(caller)).OsHidden);
        }
    }
}
