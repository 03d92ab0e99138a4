using Glance.Grains.Catalog;
using Glance.Grains.Errors;
using Glance.Grains.Identity;
using Glance.Grains.Images;
using Glance.Grains.Templates;
using static Glance.Grains.Tests.Support;
using static Glance.Grains.Tests.TemplatesSupport;

namespace Glance.Grains.Tests;

/// <summary>Server templates through the grains: ownership, visibility, members, versions, delete.</summary>
[Collection(ClusterCollection.Name)]
public sealed class TemplatesTests(ClusterFixture fixture)
{
    private readonly GlanceTestCluster _cluster = fixture.Cluster;

    [Fact]
    public async Task Create_makes_version_1_the_default_and_latest()
    {
        var owner = Caller.Member(NewProject());
        var created = await _cluster.CreateTemplateAsync(owner, Version(Guid.NewGuid()), name: "web", tags: ["a"]);
        Assert.Equal(1, created.Template.DefaultVersion);
        Assert.Equal(1, created.Template.LatestVersion);
        Assert.Equal(1, created.DefaultVersion.Number);
        Assert.Equal(owner.ProjectId, created.Template.Owner);
        var shown = await _cluster.Template(created.Template.Id).GetAsync(owner);
        Assert.Equal("web", shown.Template.Name);
        Assert.Contains("\"configuration\"", shown.DefaultVersion.Json);
        await ThrowsGlance(ErrorKind.Conflict, () => _cluster.Template(created.Template.Id).CreateAsync(owner,
            new TemplateDraft("again", null, ImageVisibility.Private, [], false, Version(Guid.NewGuid()))));
    }

    [Fact]
    public async Task Visibility_matrix_two_projects_and_an_admin()
    {
        var (p1, p2, admin) = (Caller.Member(NewProject("p1")), Caller.Member(NewProject("p2")), Caller.Admin(NewProject("admin")));
        var tag = Guid.NewGuid().ToString("N");
        var ids = new Dictionary<string, Guid>();
        foreach (var visibility in new[] { ImageVisibility.Public, ImageVisibility.Private, ImageVisibility.Shared, ImageVisibility.Community })
        {
            ids[visibility.ToString()] = (await _cluster.CreateTemplateAsync(p1, Version(Guid.NewGuid()), visibility, name: visibility.ToString(), tags: [tag])).Template.Id;
        }
        async Task<bool> Sees(Caller caller, string name)
        {
            try
            {
                await _cluster.Template(ids[name]).GetAsync(caller);
                return true;
            }
            catch (GlanceException e) when (e.Kind == ErrorKind.NotFound)
            {
                return false;
            }
        }
        async Task<string> Lists(Caller caller, VisibilityScope scope = VisibilityScope.Default) =>
            string.Join(",", (await _cluster.Client.GetGrain<ITemplateCatalogGrain>(0).ListAsync(caller, new TemplateQuery { Tags = [tag], Visibility = scope, SortKey = TemplateSortKey.Name, Descending = false }))
                .Select(t => t.Name));

        Assert.True(await Sees(p1, "Private") && await Sees(p1, "Shared"));
        Assert.True(await Sees(p2, "Public") && await Sees(p2, "Community"));
        Assert.False(await Sees(p2, "Private"));
        Assert.False(await Sees(p2, "Shared"));
        Assert.True(await Sees(admin, "Private") && await Sees(admin, "Shared"));
        Assert.Equal("Community,Private,Public,Shared", await Lists(p1));
        Assert.Equal("Public", await Lists(p2));
        Assert.Equal("Community", await Lists(p2, VisibilityScope.Community));
        Assert.Equal("Private,Public,Shared", await Lists(admin));

        // A member sees a shared template at once, lists it once it accepts; p2 may not change it.
        var shared = _cluster.Template(ids["Shared"]);
        await shared.AddMemberAsync(p1, p2.ProjectId!);
        Assert.True(await Sees(p2, "Shared"));
        Assert.Equal("Public", await Lists(p2));
        await ThrowsGlance(ErrorKind.Forbidden, () => shared.SetMemberStatusAsync(p1, p2.ProjectId!, MemberStatus.Accepted));
        await shared.SetMemberStatusAsync(p2, p2.ProjectId!, MemberStatus.Accepted);
        Assert.Equal("Public,Shared", await Lists(p2));
        await ThrowsGlance(ErrorKind.Forbidden, () => shared.UpdateAsync(p2, [PatchOperation.Replace("name", "mine")]));
        await ThrowsGlance(ErrorKind.Forbidden, () => shared.CreateVersionAsync(p2, Version(Guid.NewGuid()), null));
        await ThrowsGlance(ErrorKind.Forbidden, () => shared.DeleteAsync(p2));
        Assert.Single(await shared.ListMembersAsync(p2));
        // Members only for shared templates; the admin may change anyone's template.
        await ThrowsGlance(ErrorKind.Forbidden, () => _cluster.Template(ids["Private"]).AddMemberAsync(p1, p2.ProjectId!));
        await _cluster.Template(ids["Private"]).UpdateAsync(admin, [PatchOperation.Replace("description", "by admin")]);
        await shared.RemoveMemberAsync(p1, p2.ProjectId!);
        Assert.False(await Sees(p2, "Shared"));
    }

    [Fact]
    public async Task Concurrent_version_creation_never_repeats_a_number()
    {
        var owner = Caller.Member(NewProject());
        var template = _cluster.Template((await _cluster.CreateTemplateAsync(owner, Version(Guid.NewGuid()))).Template.Id);
        var created = await Task.WhenAll(Enumerable.Range(0, 24).Select(_ => template.CreateVersionAsync(owner, Version(Guid.NewGuid()), null)));
        Assert.Equal(Enumerable.Range(2, 24), created.Select(v => v.Number).Order());
        Assert.Equal(25, (await template.ListVersionsAsync(owner)).Length);
        Assert.Equal(25, (await template.GetAsync(owner)).Template.LatestVersion);
    }

    [Fact]
    public async Task Versions_are_immutable_numbered_and_the_default_cannot_be_deleted()
    {
        var owner = Caller.Member(NewProject());
        var image = Guid.NewGuid();
        var template = _cluster.Template((await _cluster.CreateTemplateAsync(owner, Version(image, body: "#cloud-config\nhostname: one\n"))).Template.Id);
        var two = await template.CreateVersionAsync(owner, """{"configuration": {"format": "cloud-config", "template": "#cloud-config\nhostname: two\n"}}""", basedOn: 1);
        Assert.Equal(2, two.Number);
        Assert.Equal(1, two.BasedOn);
        Assert.Contains(image.ToString(), two.Json); // the image came from version 1
        Assert.Contains("two", (await template.GetVersionAsync(owner, "$latest")).Json);
        Assert.Contains("one", (await template.GetVersionAsync(owner, "$default")).Json);

        await ThrowsGlance(ErrorKind.Conflict, () => template.DeleteVersionAsync(owner, 1));
        var patched = await template.UpdateAsync(owner, [PatchOperation.Replace("default_version", 2)]);
        Assert.Equal(2, patched.DefaultVersion.Number);
        await template.DeleteVersionAsync(owner, 1);
        await ThrowsGlance(ErrorKind.NotFound, () => template.GetVersionAsync(owner, "1"));
        await ThrowsGlance(ErrorKind.BadRequest, () => template.UpdateAsync(owner, [PatchOperation.Replace("default_version", 1)]));
        // Numbers are never reused: the next version is 3 although 1 is gone.
        Assert.Equal(3, (await template.CreateVersionAsync(owner, Version(image), null)).Number);
        await ThrowsGlance(ErrorKind.BadRequest, () => template.CreateVersionAsync(owner, """{"image": {"id": "nope"}}""", null));
    }

    [Fact]
    public async Task A_protected_template_cannot_be_deleted_and_a_deleted_id_is_gone()
    {
        var owner = Caller.Member(NewProject());
        var id = (await _cluster.CreateTemplateAsync(owner, Version(Guid.NewGuid()), isProtected: true)).Template.Id;
        await ThrowsGlance(ErrorKind.Forbidden, () => _cluster.Template(id).DeleteAsync(owner));
        await _cluster.Template(id).UpdateAsync(owner, [PatchOperation.Replace("protected", false)]);
        await _cluster.Template(id).DeleteAsync(owner);
        await ThrowsGlance(ErrorKind.NotFound, () => _cluster.Template(id).GetAsync(owner));
        Assert.DoesNotContain(id, (await _cluster.Client.GetGrain<ITemplateCatalogGrain>(0).ListAsync(owner, new TemplateQuery { Limit = 1000 })).Select(t => t.Id));
        await ThrowsGlance(ErrorKind.Conflict, () => _cluster.Template(id).CreateAsync(owner,
            new TemplateDraft("x", null, ImageVisibility.Private, [], false, Version(Guid.NewGuid()))));
    }

    [Fact]
    public async Task Lists_filter_sort_and_page_with_markers()
    {
        var owner = Caller.Member(NewProject());
        var tag = Guid.NewGuid().ToString("N");
        var image = Guid.NewGuid();
        for (var i = 0; i < 5; i++)
        {
            await _cluster.CreateTemplateAsync(owner, Version(i == 2 ? image : Guid.NewGuid()), name: $"n{i}", tags: [tag]);
        }
        var catalog = _cluster.Client.GetGrain<ITemplateCatalogGrain>(0);
        var query = new TemplateQuery { Tags = [tag], SortKey = TemplateSortKey.Name, Descending = false, Limit = 2 };
        var names = new List<string>();
        Guid? marker = null;
        for (var page = 0; page < 5; page++)
        {
            var found = await catalog.ListAsync(owner, query with { Marker = marker });
            names.AddRange(found.Select(t => t.Name));
            if (found.Length < 2)
            {
                break;
            }
            marker = found[^1].Id;
        }
        Assert.Equal(["n0", "n1", "n2", "n3", "n4"], names);
        Assert.Equal("n2", Assert.Single(await catalog.ListAsync(owner, new TemplateQuery { ImageId = image })).Name);
        Assert.Equal("n3", Assert.Single(await catalog.ListAsync(owner, new TemplateQuery { Tags = [tag], Name = "n3" })).Name);
        Assert.Empty(await catalog.ListAsync(owner, new TemplateQuery { Tags = [tag], Owner = "someone-else" }));
        await ThrowsGlance(ErrorKind.BadRequest, () => catalog.ListAsync(owner, new TemplateQuery { Marker = Guid.NewGuid() }));
    }

    [Fact]
    public async Task Shipped_examples_are_public_protected_and_survive_a_restart()
    {
        using var directory = new TempDirectory();
        Guid[] ids = [.. ShippedTemplates.Names.Select(n => ShippedTemplates.Load(n).Id)];
        var anyone = Caller.Member(NewProject());
        await using (var first = await GlanceTestCluster.StartAsync(directory.Path, silos: 2))
        {
            foreach (var id in ids)
            {
                var shown = await first.Template(id).GetAsync(anyone);
                Assert.Equal(ImageVisibility.Public, shown.Template.Visibility);
                Assert.True(shown.Template.Protected);
                Assert.Equal("service", shown.Template.Owner);
            }
            await first.Template(ids[0]).UpdateAsync(Caller.Admin("service"), [PatchOperation.Replace("description", "edited")]);
        }
        // A crash between a template's write and its index update, simulated: its index row is gone.
        using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={GlanceTestCluster.DatabaseIn(directory.Path)};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "DELETE FROM template_entry WHERE template_id = $id";
            command.Parameters.AddWithValue("$id", ids[0].ToString("N"));
            Assert.Equal(1, command.ExecuteNonQuery());
        }
        await using var second = await GlanceTestCluster.StartAsync(directory.Path);
        // Created once: a restart neither fails nor overwrites the edit; the start-up repair re-indexed it.
        Assert.Equal("edited", (await second.Template(ids[0]).GetAsync(anyone)).Template.Description);
        var listed = await second.Client.GetGrain<ITemplateCatalogGrain>(0).ListAsync(anyone, new TemplateQuery { Tags = ["example"] });
        Assert.Equal(ids.Order(), listed.Select(t => t.Id).Order());
        Assert.Equal("edited", listed.Single(t => t.Id == ids[0]).Description);
    }
}
