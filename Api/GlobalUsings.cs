global using System.Collections.Immutable;
global using Glance.Grains.Errors;
global using Glance.Grains.Identity;
global using Glance.Grains.Images;
