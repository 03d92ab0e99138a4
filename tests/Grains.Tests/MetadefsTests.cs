using Glance.Grains.Errors;
using Glance.Grains.Identity;
using Glance.Grains.Images;
using Glance.Grains.Metadefs;
using Glance.Grains.Properties;
using Glance.Grains.Storage;
using Orleans.Storage;
using static Glance.Grains.Tests.Support;

namespace Glance.Grains.Tests;

/// <summary>
/// The metadefs catalog called directly, as a grain caller would (issue 9, item 3): the same
/// rules as over HTTP, and the property definitions catalog as the same data seen another way.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class MetadefsTests(ClusterFixture fixture)
{
    private readonly GlanceTestCluster _cluster = fixture.Cluster;
    private readonly Caller _admin = Caller.Admin(NewProject("admin"));

    private IMetadefsGrain Metadefs => _cluster.Client.Metadefs();
    private IPropertyDefinitionsGrain Definitions => _cluster.Client.PropertyDefinitions();

    private static string NewName(string label = "ns") => $"{label}::{Guid.NewGuid():N}";

    private static MetadefProperty Property(string name, string type = "string") => new() { Name = name, Title = name, Type = type };

    [Fact]
    public async Task Only_admins_write_and_everyone_reads_public_namespaces()
    {
        var member = Caller.Member(NewProject());
        var name = NewName();

        var refused = await ThrowsGlance(ErrorKind.Forbidden, () => Metadefs.CreateNamespaceAsync(member, new MetadefNamespace { Namespace = name }));
        Assert.Equal("You are not authorized to complete add_metadef_namespace action.", refused.Message);
        var created = await Metadefs.CreateNamespaceAsync(_admin, new MetadefNamespace
        {
            Namespace = name,
            Visibility = MetadefVisibility.Public,
            Properties = [Property("p")],
            Objects = [new MetadefObject { Name = "o", Required = ["p"] }],
            Tags = [new MetadefTag { Name = "t" }],
            ResourceTypes = [new MetadefAssociation { Name = "OS::Nova::Flavor", Prefix = "x:" }],
        });
        Assert.Equal(_admin.ProjectId, created.Owner);

        var shown = await Metadefs.GetNamespaceAsync(member, name);
        Assert.Equal(["p"], shown.Properties.Select(p => p.Name));
        Assert.Equal("o", Assert.Single(await Metadefs.ListObjectsAsync(member, name)).Name);
        Assert.Equal("t", Assert.Single(await Metadefs.ListTagsAsync(member, name, new TagQuery())).Name);
        foreach (var write in new Func<Task>[]
        {
            () => Metadefs.UpdateNamespaceAsync(member, name, new NamespaceUpdate { Namespace = name }),
            () => Metadefs.DeleteNamespaceAsync(member, name),
            () => Metadefs.CreatePropertyAsync(member, name, Property("q")),
            () => Metadefs.DeleteObjectAsync(member, name, "o"),
            () => Metadefs.CreateTagAsync(member, name, "u"),
            () => Metadefs.DissociateAsync(member, name, "OS::Nova::Flavor"),
        })
        {
            await ThrowsGlance(ErrorKind.Forbidden, write);
        }
        var after = await Metadefs.GetNamespaceAsync(_admin, name);
        Assert.Equal((shown.UpdatedAt, 1, 1, 1, 1), (after.UpdatedAt, after.Properties.Length, after.Objects.Length, after.Tags.Length, after.ResourceTypes.Length));
    }

    [Fact]
    public async Task A_private_namespace_is_not_found_outside_its_project()
    {
        var owner = Caller.Member(NewProject("owner"));
        var other = Caller.Member(NewProject("other"));
        var name = NewName();
        await Metadefs.CreateNamespaceAsync(_admin, new MetadefNamespace { Namespace = name, Owner = owner.ProjectId, Properties = [Property("p")] });

        Assert.Equal(name, (await Metadefs.GetNamespaceAsync(owner, name)).Namespace);
        var hidden = await ThrowsGlance(ErrorKind.NotFound, () => Metadefs.GetNamespaceAsync(other, name));
        Assert.Equal("The resource could not be found.", hidden.Message);
        Assert.Equal($"Namespace {name} not found",
            (await ThrowsGlance(ErrorKind.NotFound, () => Metadefs.GetPropertyAsync(other, name, "p", null))).Message);
        // Not found, not forbidden: a write does not reveal it either.
        await ThrowsGlance(ErrorKind.NotFound, () => Metadefs.DeleteNamespaceAsync(other, name));
        var listed = await Metadefs.ListNamespacesAsync(other, new NamespaceQuery { Limit = 1000 });
        Assert.DoesNotContain(listed, n => n.Namespace == name);
        Assert.Contains(await Metadefs.ListNamespacesAsync(owner, new NamespaceQuery { Limit = 1000, Visibility = MetadefVisibility.Private }),
            n => n.Namespace == name);
    }

    [Fact]
    public async Task Protected_content_is_not_deleted_and_names_are_unique()
    {
        var name = NewName();
        await Metadefs.CreateNamespaceAsync(_admin, new MetadefNamespace
        {
            Namespace = name,
            Protected = true,
            Properties = [Property("p")],
            Tags = [new MetadefTag { Name = "Tag" }],
        });

        Assert.Equal($"Metadata definition namespace {name} is protected and cannot be deleted.",
            (await ThrowsGlance(ErrorKind.Forbidden, () => Metadefs.DeleteNamespaceAsync(_admin, name))).Message);
        await ThrowsGlance(ErrorKind.Forbidden, () => Metadefs.DeleteContentsAsync(_admin, name, MetadefContents.Tags));
        await ThrowsGlance(ErrorKind.Forbidden, () => Metadefs.DeletePropertyAsync(_admin, name, "p"));
        await ThrowsGlance(ErrorKind.Conflict, () => Metadefs.CreateNamespaceAsync(_admin, new MetadefNamespace { Namespace = name }));
        await ThrowsGlance(ErrorKind.Conflict, () => Metadefs.CreatePropertyAsync(_admin, name, Property("p")));
        // Tag names are unique ignoring case.
        await ThrowsGlance(ErrorKind.Conflict, () => Metadefs.CreateTagAsync(_admin, name, "TAG"));
        await ThrowsGlance(ErrorKind.Conflict, () => Metadefs.CreateTagsAsync(_admin, name, ["a", "A"], append: false));
        Assert.Equal(["Tag"], (await Metadefs.ListTagsAsync(_admin, name, new TagQuery())).Select(t => t.Name));

        // Unprotected, everything goes.
        await Metadefs.UpdateNamespaceAsync(_admin, name, new NamespaceUpdate { Namespace = name, Protected = false });
        await Metadefs.DeleteNamespaceAsync(_admin, name);
        await ThrowsGlance(ErrorKind.NotFound, () => Metadefs.GetNamespaceAsync(_admin, name));
    }

    [Fact]
    public async Task A_public_image_namespace_is_the_property_definitions_catalog()
    {
        var name = NewName();
        var prefix = $"zz{Guid.NewGuid():N}_";
        await Metadefs.CreateNamespaceAsync(_admin, new MetadefNamespace
        {
            Namespace = name,
            Visibility = MetadefVisibility.Public,
            ResourceTypes = [new MetadefAssociation { Name = "OS::Glance::Image", Prefix = prefix }],
            Properties = [Property("cores", "integer") with { Minimum = 1, Description = "How many." }],
        });

        // The metadef property, seen as a definition (describing, as every metadef does).
        var definition = await Definitions.GetAsync(prefix + "cores");
        Assert.Equal(PropertyType.Integer, definition.Type);
        Assert.Equal(1, definition.Minimum);
        Assert.False(definition.Enforced);

        // A definition written as such is the metadef property, and stays an enforced rule through metadefs edits.
        Assert.False(await Definitions.DefineAsync(_admin, definition with { Maximum = 8, Enforced = true }));
        var property = await Metadefs.GetPropertyAsync(_admin, name, prefix + "cores", "OS::Glance::Image");
        Assert.Equal(8, property.Maximum);
        Assert.Equal("cores", property.Title);
        await Metadefs.UpdatePropertyAsync(_admin, name, "cores", property with { Maximum = 4 });
        var owner = Caller.Member(NewProject());
        var image = await _cluster.CreateAsync(owner);
        var refused = await ThrowsGlance(ErrorKind.BadRequest, () => _cluster.Image(image.Id).UpdateAsync(owner, [PatchOperation.Add(prefix + "cores", "6")]));
        Assert.Equal($"Property '{prefix}cores' must be an integer between 1 and 4: '6'", refused.Message);

        // A private namespace defines nothing; removing a definition deletes the property.
        await Metadefs.UpdateNamespaceAsync(_admin, name, new NamespaceUpdate { Namespace = name, Visibility = MetadefVisibility.Private });
        await ThrowsGlance(ErrorKind.NotFound, () => Definitions.GetAsync(prefix + "cores"));
        await Metadefs.UpdateNamespaceAsync(_admin, name, new NamespaceUpdate { Namespace = name, Visibility = MetadefVisibility.Public });
        await Definitions.RemoveAsync(_admin, prefix + "cores");
        Assert.Empty((await Metadefs.GetNamespaceAsync(_admin, name)).Properties);
        await _cluster.Image(image.Id).UpdateAsync(owner, [PatchOperation.Add(prefix + "cores", "6")]);
    }

    [Fact]
    public async Task A_new_definition_lands_in_the_default_namespace()
    {
        var name = $"def_{Guid.NewGuid():N}";

        Assert.True(await Definitions.DefineAsync(_admin, new PropertyDefinition { Name = name, Enum = ["a"], Enforced = false }));

        var property = await Metadefs.GetPropertyAsync(Caller.Member(NewProject()), ImageDefinitions.DefaultNamespace, name, null);
        Assert.Equal(["a"], property.Enum!.ToArray());
        Assert.Equal("string", property.Type);
        var ns = await Metadefs.GetNamespaceAsync(_admin, ImageDefinitions.DefaultNamespace);
        Assert.Equal(MetadefVisibility.Public, ns.Visibility);
        Assert.Contains(ns.ResourceTypes, a => a.Name == "OS::Glance::Image" && a.Prefix is null);
        await Metadefs.DeletePropertyAsync(_admin, ImageDefinitions.DefaultNamespace, name);
        await ThrowsGlance(ErrorKind.NotFound, () => Definitions.GetAsync(name));
    }

    [Fact]
    public async Task Seeds_load_once_and_operator_edits_survive_restarts()
    {
        using var directory = new TempDirectory();
        await using (var first = await GlanceTestCluster.StartAsync(directory.Path))
        {
            var metadefs = first.Client.Metadefs();
            var all = await metadefs.ListNamespacesAsync(_admin, new NamespaceQuery { Limit = 1000 });
            Assert.Equal(SeededNamespaces.All.Select(s => s.Namespace).Order(), all.Select(n => n.Namespace).Order());
            Assert.Equal("OS::Glance::Image", (await metadefs.ListResourceTypesAsync(_admin))[0].Name);
            // The seeded definitions describe and never refuse.
            Assert.All(await first.Client.PropertyDefinitions().ListAsync(), d => Assert.False(d.Enforced));
            await metadefs.DeleteNamespaceAsync(_admin, "OS::Compute::Watchdog");
            await metadefs.UpdateNamespaceAsync(_admin, "OS::OperatingSystem",
                new NamespaceUpdate { Namespace = "OS::OperatingSystem", Visibility = MetadefVisibility.Public, DisplayName = "Edited" });
        }
        await using var second = await GlanceTestCluster.StartAsync(directory.Path);

        var again = await second.Client.Metadefs().ListNamespacesAsync(_admin, new NamespaceQuery { Limit = 1000 });
        Assert.Equal(SeededNamespaces.All.Length - 1, again.Length);
        Assert.DoesNotContain(again, n => n.Namespace == "OS::Compute::Watchdog");
        Assert.Equal("Edited", Assert.Single(again, n => n.Namespace == "OS::OperatingSystem").DisplayName);
        Assert.Equal(SeededNamespaces.ResourceTypes.Length, (await second.Client.Metadefs().ListResourceTypesAsync(_admin)).Length);
    }

    [Fact]
    public async Task An_older_release_catalog_is_carried_over_once()
    {
        using var directory = new TempDirectory();
        // What the property definitions grain of the release before metadefs left in storage.
        await using (var database = new SqliteDatabase(GlanceTestCluster.DatabaseIn(directory.Path)))
        {
            var legacy = new GrainState<LegacyState>
            {
                State = new LegacyState
                {
                    Definitions =
                    [
                        new PropertyDefinition { Name = "hw_cpu_cores", Type = PropertyType.Integer, Minimum = 2, Maximum = 64 },
                        new PropertyDefinition { Name = "site_tier", Enum = ["gold", "silver"] },
                    ],
                },
            };
            await new SqliteGrainStorage(database).WriteStateAsync("property-definitions",
                GrainId.Create(GrainType.Create("glance.property-definitions"), GrainIdKeyExtensions.CreateIntegerKey(0)), legacy);
        }

        await using var cluster = await GlanceTestCluster.StartAsync(directory.Path);

        var definitions = cluster.Client.PropertyDefinitions();
        var cores = await definitions.GetAsync("hw_cpu_cores");
        Assert.Equal((2, 64, true), (cores.Minimum, cores.Maximum, cores.Enforced));
        Assert.Equal(["gold", "silver"], (await definitions.GetAsync("site_tier")).Enum.ToArray());
        // Seeded names the old catalog no longer had were removed by an operator: they stay removed.
        await ThrowsGlance(ErrorKind.NotFound, () => definitions.GetAsync("os_distro"));
        var cpu = await cluster.Client.Metadefs().GetPropertyAsync(_admin, "OS::Compute::CPUTopology", "cpu_cores", null);
        Assert.Equal(64, cpu.Maximum);
    }

    private sealed class LegacyState
    {
        public List<PropertyDefinition> Definitions { get; set; } = [];
    }
}
